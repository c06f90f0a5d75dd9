/**
 * OrderGuard: one Durable Object per order (`idFromName(orderId)`). Every path that may settle an order
 * (webhook, reconcile, confirm, admin) calls `settle` here, so attempts on one order run one at a time.
 *
 * Why a queue and not just the input gate: awaiting Supabase (a fetch) opens the input gate and lets the
 * next call in, so two settles could interleave. The promise chain keeps them strictly sequential.
 * Terminal results are remembered in SQLite so a storm of duplicates is answered without the database;
 * anything not remembered goes to the database, which stays the final word.
 */
import { DurableObject } from "cloudflare:workers";
import { getDeps } from "../deps.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { ok } from "../ledger/result.ts";
import { settleFact } from "../ledger/settle.ts";
import type { PaymentFact, SettleResult, SettleSource } from "../ledger/types.ts";

/** Outcomes after which the same fact can only ever be a duplicate. */
const FINAL_OUTCOMES = new Set([
  "fulfilled",
  "duplicate",
  "late_payment",
  "created_from_metadata",
  "refunded",
  "partially_refunded",
]);

/** The idempotency key of a fact: the provider's own reference, never something we made up. */
export function factKey(fact: PaymentFact): string | null {
  if (fact.kind === "paid") return `paid:${fact.provider}:${fact.paymentRef}`;
  if (fact.kind === "refunded") return `refund:${fact.provider}:${fact.refundRef}`;
  return null;
}

export class OrderGuard extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "create table if not exists settled (fact_key text primary key, status text, outcome text not null, at_ms integer not null)",
    );
  }

  settle(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Result<SettleResult, InfraError>> {
    const run = this.queue.then(() => this.settleNow(fact, source, nowMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async settleNow(fact: PaymentFact, source: SettleSource, nowMs: number) {
    const key = factKey(fact);
    const remembered = key ? this.remembered(key) : null;
    if (remembered)
      return ok({ orderId: fact.orderId, outcome: "duplicate", status: remembered.status } as SettleResult);
    const { store, alerts } = getDeps(this.env);
    const result = await settleFact(fact, source, nowMs, { store, alerts });
    if (result.ok && key && FINAL_OUTCOMES.has(result.value.outcome)) {
      this.ctx.storage.sql.exec(
        "insert or ignore into settled (fact_key, status, outcome, at_ms) values (?, ?, ?, ?)",
        key,
        result.value.status,
        result.value.outcome,
        nowMs,
      );
    }
    return result;
  }

  private remembered(key: string): { status: SettleResult["status"] } | null {
    const rows = this.ctx.storage.sql
      .exec<{ status: string | null }>("select status from settled where fact_key = ?", key)
      .toArray();
    const row = rows[0];
    return row ? { status: row.status as SettleResult["status"] } : null;
  }
}
