/**
 * `ProviderBudget`: the Durable Object that holds one provider's token bucket for the whole deployment
 * (`idFromName(budgetKey)`: Stripe live, Stripe test, WeChat Pay). One object serialises every lease, so
 * however many invocations run at once, the provider sees one rate; a 429 any of them met pauses the
 * bucket for all. The bucket's state is one SQLite row, so a restarted object keeps a pause. Its clock
 * is its own `Date.now()`: callers are told how long to wait, never a time of theirs.
 */
import { DurableObject } from "cloudflare:workers";
import { type BucketState, fullBucket, type Grant, leaseTokens, pauseBucket } from "./bucket.ts";
import { type BucketLimit, LEASE_TOKENS_MAX, REQUESTS_PER_SECOND_MAX } from "./limits.ts";

type Row = { level: number; at_ms: number };

function checkLimit(limit: BucketLimit): void {
  const valid =
    limit.perSecond > 0 &&
    limit.perSecond <= REQUESTS_PER_SECOND_MAX &&
    limit.burst >= 1 &&
    limit.burst <= 1000;
  if (!valid) throw new Error(`invalid bucket limit ${JSON.stringify(limit)}`);
}

export class ProviderBudget extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `create table if not exists bucket (id integer primary key check (id = 1), level real not null,
        at_ms real not null)`,
    );
  }

  private load(limit: BucketLimit, nowMs: number): BucketState {
    const row = this.ctx.storage.sql.exec<Row>("select level, at_ms from bucket where id = 1").toArray()[0];
    return row ? { level: Math.min(row.level, limit.burst), atMs: row.at_ms } : fullBucket(limit, nowMs);
  }

  private save(state: BucketState): void {
    this.ctx.storage.sql.exec(
      `insert into bucket (id, level, at_ms) values (1, ?, ?)
         on conflict (id) do update set level = excluded.level, at_ms = excluded.at_ms`,
      state.level,
      state.atMs,
    );
  }

  /** Up to `want` tokens at the caller's rate `limit` (every caller of one deployment passes the same). */
  lease(limit: BucketLimit, want: number): Grant {
    checkLimit(limit);
    if (!Number.isInteger(want) || want < 1 || want > LEASE_TOKENS_MAX)
      throw new Error(`invalid want ${want}`);
    const nowMs = Date.now();
    const { state, grant } = leaseTokens(this.load(limit, nowMs), limit, want, nowMs);
    this.save(state);
    return grant;
  }

  /** The provider answered 429: nobody gets a token for `retryAfterMs`. */
  pause(limit: BucketLimit, retryAfterMs: number): void {
    checkLimit(limit);
    if (!(retryAfterMs >= 0)) throw new Error(`invalid retryAfterMs ${retryAfterMs}`);
    const nowMs = Date.now();
    this.save(pauseBucket(this.load(limit, nowMs), limit, nowMs, nowMs + retryAfterMs));
  }
}
