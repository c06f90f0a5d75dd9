/**
 * One limiter per provider per run: requests are spaced to a named rate, and a 429 pauses every caller of
 * that provider for the Retry-After the provider asked for. Callers ask `call` to run their request; it
 * answers the request's own result, or `rate_limited` once the attempts are used up.
 */
import type { Provider } from "../ledger/types.ts";
import {
  RATE_LIMITED_ATTEMPTS_MAX,
  RETRY_AFTER_DEFAULT_S,
  STRIPE_REQUESTS_PER_SECOND,
  WECHATPAY_REQUESTS_PER_SECOND,
} from "./limits.ts";

export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: LimiterClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What a provider call reports back to the limiter: a 429 with its Retry-After, or anything else. */
export type CallOutcome<T> = { rateLimited: true; retryAfterS?: number } | { rateLimited: false; value: T };

export interface Limiter {
  call<T>(request: () => Promise<CallOutcome<T>>): Promise<{ ok: true; value: T } | { ok: false }>;
  stats(): { calls: number; rateLimited: number; waitedMs: number };
}

export function createLimiter(requestsPerSecond: number, clock: LimiterClock): Limiter {
  const spacingMs = 1000 / requestsPerSecond;
  let nextSlotMs = 0;
  let pausedUntilMs = 0;
  const stats = { calls: 0, rateLimited: 0, waitedMs: 0 };

  const waitForSlot = async () => {
    const now = clock.now();
    const at = Math.max(now, nextSlotMs, pausedUntilMs);
    nextSlotMs = at + spacingMs;
    if (at > now) {
      stats.waitedMs += at - now;
      await clock.sleep(at - now);
    }
  };

  return {
    async call(request) {
      for (let attempt = 1; attempt <= RATE_LIMITED_ATTEMPTS_MAX; attempt += 1) {
        await waitForSlot();
        stats.calls += 1;
        const outcome = await request();
        if (!outcome.rateLimited) return { ok: true, value: outcome.value };
        stats.rateLimited += 1;
        const retryAfterMs = (outcome.retryAfterS ?? RETRY_AFTER_DEFAULT_S) * 1000;
        pausedUntilMs = Math.max(pausedUntilMs, clock.now() + retryAfterMs);
      }
      return { ok: false };
    },
    stats: () => ({ ...stats }),
  };
}

/** One limiter per provider at its named rate; each invocation (tick, queue share, operator batch) has its own. */
export function createLimiters(clock: LimiterClock = realClock): Record<Provider, Limiter> {
  return {
    stripe: createLimiter(STRIPE_REQUESTS_PER_SECOND, clock),
    wechatpay: createLimiter(WECHATPAY_REQUESTS_PER_SECOND, clock),
  };
}
