/**
 * One invocation's side of the provider budget: a `fetch` for each provider that takes a token from the
 * deployment's bucket (src/budget/provider-budget.ts) before every request and reports every 429 to it,
 * so a Retry-After one caller met pauses all of them. Every provider client of a tick, queue share,
 * operator batch, success page and bill is built over this fetch (src/providers/registry.ts).
 *
 * Cheap: tokens are leased a few at a time (one Durable Object call serves several requests of the
 * invocation; `onSubrequest` lets a run count those calls), a lease is used at once or dropped after
 * LEASE_TTL_MS, and callers of one invocation share one lease in flight instead of each asking.
 *
 * Fails closed: when the bucket cannot be reached, or no token comes within the caller's wait, nothing
 * is sent and the request is answered here with 503 `provider_budget_unavailable` / `_busy` in the
 * provider's own error shape, so each client reports it through its usual (transient) error path. An
 * unmetered fallback would be exactly the uncapped rate this module exists to prevent, and what it
 * refuses is never lost: background work leaves its orders due for the next run, the success page
 * answers "pending" and polls again, an operator sees the refusal and retries.
 */
import type { Provider } from "../ledger/types.ts";
import { log } from "../log.ts";
import type { StripeConfig } from "../providers/stripe/settings.ts";
import type { Grant } from "./bucket.ts";
import {
  type BucketLimit,
  type BudgetKey,
  type BudgetLimits,
  budgetKeyFor,
  LEASE_TOKENS_MAX,
  LEASE_TTL_MS,
  RATE_LIMITED_ATTEMPTS_MAX,
  RETRY_AFTER_DEFAULT_S,
  RETRY_AFTER_MAX_S,
} from "./limits.ts";

/** The Durable Object namespace as the client uses it (typed here, so Node-side code never loads the class). */
export interface BudgetNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): {
    lease(limit: BucketLimit, want: number): Promise<Grant>;
    pause(limit: BucketLimit, retryAfterMs: number): Promise<void>;
  };
}

export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: WaitClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface BudgetOptions {
  /** Tokens one lease asks for at least (an invocation with parallel lanes takes a few at a time). */
  leaseTokens: number;
  /** Longest one request waits for its token before it is refused. */
  waitMsMax: number;
  clock?: WaitClock;
  /** Called once per call to the bucket's Durable Object, so a run can count it as a subrequest. */
  onSubrequest?: () => void;
}

/**
 * Background work (ticks, queue shares, the bill): lanes wait their turn behind other invocations; a
 * pause longer than the wait ends the run instead of sleeping through it, and the orders stay due.
 */
export const BACKGROUND_WAIT_MS_MAX = 5_000;
/** The success page answers "pending" rather than keep the customer waiting: it polls again anyway. */
export const PAGE_WAIT_MS_MAX = 2_000;

export const BACKGROUND: BudgetOptions = { leaseTokens: LEASE_TOKENS_MAX, waitMsMax: BACKGROUND_WAIT_MS_MAX };
/** Operator actions and batches, the hourly health check: one request at a time, so one token per lease. */
export const ONE_AT_A_TIME: BudgetOptions = { leaseTokens: 1, waitMsMax: BACKGROUND_WAIT_MS_MAX };
export const PAGE: BudgetOptions = { leaseTokens: 1, waitMsMax: PAGE_WAIT_MS_MAX };

export const BUDGET_BUSY = "provider_budget_busy";
export const BUDGET_UNAVAILABLE = "provider_budget_unavailable";
type Refusal = typeof BUDGET_BUSY | typeof BUDGET_UNAVAILABLE;

/** A provider error that was the budget's refusal: nothing was sent to the provider. */
export const isBudgetRefusal = (error: { code: string }): boolean =>
  error.code === BUDGET_BUSY || error.code === BUDGET_UNAVAILABLE;

export interface BudgetStats {
  /** Requests sent with a token. */
  calls: number;
  waited_ms: number;
  rate_limited: number;
  refused: number;
  /** Calls to the bucket's Durable Object (leases and pauses). */
  budget_calls: number;
}

export interface ProviderBudget {
  /** `fetch` for `provider`'s API; `base` is the fetch it sends with (the global one by default). */
  fetch(provider: Provider, base?: typeof fetch): typeof fetch;
  stats(): Partial<Record<BudgetKey, BudgetStats>>;
}

interface Pool {
  key: BudgetKey;
  limit: BucketLimit;
  /** When each leased, unspent token expires, oldest first. */
  tokens: number[];
  waiting: number;
  lease: Promise<"granted" | "unavailable" | { retryInMs: number }> | null;
  stats: BudgetStats;
}

/** Seconds, or an HTTP date; the default when absent, never more than RETRY_AFTER_MAX_S. */
export function retryAfterMs(header: string | null, nowMs: number): number {
  const seconds = Number(header);
  const ms =
    header && Number.isFinite(seconds)
      ? seconds * 1000
      : header && Number.isFinite(Date.parse(header))
        ? Date.parse(header) - nowMs
        : RETRY_AFTER_DEFAULT_S * 1000;
  return Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_S * 1000);
}

/** The refusal in the provider's own error shape (Stripe `{error:{…}}`, WeChat Pay `{code, message}`). */
function refusalResponse(provider: Provider, code: Refusal): Response {
  const message =
    code === BUDGET_BUSY
      ? "no provider token within the wait: the deployment's provider budget is spent or paused"
      : "the provider budget cannot be reached; nothing was sent";
  const body = provider === "stripe" ? { error: { type: "api_error", code, message } } : { code, message };
  return new Response(JSON.stringify(body), { status: 503, headers: { "content-type": "application/json" } });
}

export function openProviderBudget(
  deps: {
    config: { stripe: Pick<StripeConfig, "secretKey"> | null; budget: BudgetLimits };
    providerBudgets: BudgetNamespace;
  },
  options: BudgetOptions,
): ProviderBudget {
  const clock = options.clock ?? realClock;
  const pools = new Map<BudgetKey, Pool>();
  const stub = (key: BudgetKey) => deps.providerBudgets.get(deps.providerBudgets.idFromName(key));

  const poolFor = (provider: Provider): Pool => {
    const key = budgetKeyFor(provider, deps.config.stripe);
    const existing = pools.get(key);
    if (existing) return existing;
    const stats = { calls: 0, waited_ms: 0, rate_limited: 0, refused: 0, budget_calls: 0 };
    const pool: Pool = { key, limit: deps.config.budget[key], tokens: [], waiting: 0, lease: null, stats };
    pools.set(key, pool);
    return pool;
  };

  const askBucket = async <T>(pool: Pool, call: () => Promise<T>): Promise<T> => {
    pool.stats.budget_calls += 1;
    options.onSubrequest?.();
    return call();
  };

  /** One lease for everyone of this invocation waiting on the pool; granted tokens arrive at their turn. */
  const lease = async (pool: Pool) => {
    const want = Math.min(LEASE_TOKENS_MAX, pool.limit.burst, Math.max(pool.waiting, options.leaseTokens));
    let grant: Grant;
    try {
      grant = await askBucket(pool, () => stub(pool.key).lease(pool.limit, want));
    } catch (error) {
      log("error", "provider_budget_unavailable", { budget: pool.key, error: (error as Error).message });
      return "unavailable" as const;
    }
    if (grant.granted === 0) return { retryInMs: grant.waitMs };
    if (grant.waitMs > 0) await clock.sleep(grant.waitMs);
    const expiresAtMs = clock.now() + LEASE_TTL_MS;
    for (let i = 0; i < grant.granted; i += 1) pool.tokens.push(expiresAtMs);
    return "granted" as const;
  };

  const take = async (pool: Pool): Promise<Refusal | null> => {
    const startedMs = clock.now();
    const deadlineMs = startedMs + options.waitMsMax;
    pool.waiting += 1;
    try {
      for (;;) {
        if (clock.now() > deadlineMs) return BUDGET_BUSY;
        while ((pool.tokens[0] ?? Number.POSITIVE_INFINITY) < clock.now()) pool.tokens.shift();
        if (pool.tokens.length > 0) {
          pool.tokens.shift();
          pool.stats.waited_ms += clock.now() - startedMs;
          return null;
        }
        pool.lease ??= lease(pool).finally(() => {
          pool.lease = null;
        });
        const outcome = await pool.lease;
        if (outcome === "unavailable") return BUDGET_UNAVAILABLE;
        if (outcome !== "granted") {
          if (clock.now() + outcome.retryInMs > deadlineMs) return BUDGET_BUSY;
          await clock.sleep(outcome.retryInMs);
        }
      }
    } finally {
      pool.waiting -= 1;
    }
  };

  const pause = async (pool: Pool, ms: number) => {
    pool.tokens.length = 0;
    try {
      await askBucket(pool, () => stub(pool.key).pause(pool.limit, ms));
    } catch (error) {
      // The next lease fails closed if the bucket stays unreachable; this invocation stops spending now.
      log("error", "provider_budget_pause_failed", { budget: pool.key, error: (error as Error).message });
    }
  };

  return {
    fetch(provider, base = (input, init) => fetch(input, init)) {
      const pool = poolFor(provider);
      return async (input, init) => {
        const refused = await take(pool);
        if (refused) {
          pool.stats.refused += 1;
          return refusalResponse(provider, refused);
        }
        // The caller's timeout may have run out while the request waited for its token: send nothing.
        init?.signal?.throwIfAborted();
        pool.stats.calls += 1;
        const response = await base(input, init);
        if (response.status === 429) {
          pool.stats.rate_limited += 1;
          await pause(pool, retryAfterMs(response.headers.get("retry-after"), clock.now()));
        }
        return response;
      };
    },
    stats: () => Object.fromEntries([...pools].map(([key, pool]) => [key, { ...pool.stats }])),
  };
}

/** What a provider call reports back: a 429 (the budget already paused), or anything else. */
export type CallOutcome<T> = { rateLimited: true } | { rateLimited: false; value: T };

/** Runs a call again after a 429, at most `attempts` times; each retry's token waits out the pause. */
export async function retryRateLimited<T>(
  request: () => Promise<CallOutcome<T>>,
  attempts = RATE_LIMITED_ATTEMPTS_MAX,
): Promise<{ ok: true; value: T } | { ok: false }> {
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const outcome = await request();
    if (!outcome.rateLimited) return { ok: true, value: outcome.value };
  }
  return { ok: false };
}
