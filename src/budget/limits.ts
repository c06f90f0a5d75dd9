/**
 * Named limits of the provider budget: one token bucket per provider and mode for the whole deployment
 * (src/budget/provider-budget.ts), whatever number of cron ticks, queue shares, operator batches and
 * success pages ask at once. Rates are configurable (`PROVIDER_REQUESTS_PER_SECOND`) because a provider
 * may raise an account's limit; everything else is fixed here.
 *
 * What reaches a provider in any window of `w` ms is at most `callsAllowedIn(limit, w)`: the bucket hands
 * out `burst + rate × w` tokens at most, and a leased token may be spent up to LEASE_TTL_MS after its turn.
 */
import type { Provider } from "../ledger/types.ts";
import type { StripeConfig } from "../providers/stripe/settings.ts";

export type BudgetKey = "stripe_live" | "stripe_test" | "wechatpay";
export const BUDGET_KEYS: readonly BudgetKey[] = ["stripe_live", "stripe_test", "wechatpay"];

/**
 * Requests per second of each bucket. Stripe allows 100/s per account in live mode and 25/s in test mode;
 * half of each leaves the rest to whatever else uses the account (the app's own server, the Dashboard),
 * and even the worst case below stays under Stripe's limit. WeChat Pay publishes no rate for query, close
 * or the bill: a modest rate, and its 429 (FREQUENCY_LIMITED) pauses every caller.
 */
export const REQUESTS_PER_SECOND_DEFAULTS: Record<BudgetKey, number> = {
  stripe_live: 50,
  stripe_test: 12,
  wechatpay: 50,
};
/** A configured rate above this is refused: a Durable Object serves about 1,000 requests/s. */
export const REQUESTS_PER_SECOND_MAX = 1_000;
/**
 * A bucket holds this many seconds of its rate (at least one token): an invocation's parallel lanes can
 * start together, and a burst stays small against the provider's per-second limit.
 */
export const BUCKET_BURST_S = 0.2;
/** A leased token not spent this long after its turn is dropped, so leases never add up to a burst. */
export const LEASE_TTL_MS = 250;
/**
 * How far ahead the bucket reserves tokens for a caller that must wait for them. A 429 pauses every grant
 * made after it; tokens reserved before it (this much of the rate) may still be spent.
 */
export const LEASE_AHEAD_MS_MAX = 500;
/** Tokens one lease may take (and never more than the bucket's burst). */
export const LEASE_TOKENS_MAX = 6;
/** Retry-After assumed when a 429 carries none, and the longest honoured (a longer one is cut to it). */
export const RETRY_AFTER_DEFAULT_S = 1;
export const RETRY_AFTER_MAX_S = 600;
/** Attempts of one call the provider answers 429 before it is left to the next run. */
export const RATE_LIMITED_ATTEMPTS_MAX = 3;

export interface BucketLimit {
  perSecond: number;
  burst: number;
}

export type BudgetLimits = Record<BudgetKey, BucketLimit>;

export function bucketLimit(perSecond: number): BucketLimit {
  return { perSecond, burst: Math.max(1, Math.round(perSecond * BUCKET_BURST_S)) };
}

/** The most calls any window of `windowMs` sees at the provider. */
export function callsAllowedIn(limit: BucketLimit, windowMs: number): number {
  return Math.floor(limit.burst + (limit.perSecond * (windowMs + LEASE_TTL_MS)) / 1000);
}

/** Stripe's live and test modes are separate accounts of limits: the key says which one payguard uses. */
export function budgetKeyFor(provider: Provider, stripe: Pick<StripeConfig, "secretKey"> | null): BudgetKey {
  if (provider === "wechatpay") return "wechatpay";
  return /^(sk|rk)_live_/.test(stripe?.secretKey ?? "") ? "stripe_live" : "stripe_test";
}

const NAME = "PROVIDER_REQUESTS_PER_SECOND";

/**
 * `PROVIDER_REQUESTS_PER_SECOND`, e.g. `stripe_live=80,wechatpay=30`: each named bucket's rate; the
 * others keep their default. A set but invalid entry is a configuration problem reported by name.
 */
export function parseBudgetLimits(env: Record<string, unknown>, problems: string[]): BudgetLimits {
  const rates = { ...REQUESTS_PER_SECOND_DEFAULTS };
  const raw = typeof env[NAME] === "string" ? (env[NAME] as string).trim() : "";
  for (const entry of raw
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [key = "", value = ""] = entry.split("=").map((part) => part.trim());
    const rate = Number(value);
    if (!BUDGET_KEYS.includes(key as BudgetKey))
      problems.push(`${NAME} names "${key}"; known: ${BUDGET_KEYS.join(", ")}`);
    else if (!(rate > 0 && rate <= REQUESTS_PER_SECOND_MAX))
      problems.push(`${NAME} ${key} must be a number above 0 and at most ${REQUESTS_PER_SECOND_MAX}`);
    else rates[key as BudgetKey] = rate;
  }
  return {
    stripe_live: bucketLimit(rates.stripe_live),
    stripe_test: bucketLimit(rates.stripe_test),
    wechatpay: bucketLimit(rates.wechatpay),
  };
}
