/**
 * The provider budget's token bucket on a virtual clock: however many callers lease at whatever times,
 * the tokens' turns never exceed `burst + rate × window` in any window; grants are first come, first
 * served and never dated beyond the horizon; a pause (a 429's Retry-After) dates every later grant after
 * it. Also the named limits: Stripe live / test from the key, the rate variable and its refusals.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BucketState, fullBucket, leaseTokens, pauseBucket } from "../../../src/budget/bucket.ts";
import {
  type BucketLimit,
  bucketLimit,
  budgetKeyFor,
  callsAllowedIn,
  LEASE_AHEAD_MS_MAX,
  LEASE_TOKENS_MAX,
  parseBudgetLimits,
  REQUESTS_PER_SECOND_DEFAULTS,
} from "../../../src/budget/limits.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const SEED = 20261201;

/** Leases at the given times (sorted), each asking `want`; answers every granted token's turn. */
function turnsOf(limit: BucketLimit, asks: Array<{ atMs: number; want: number }>) {
  let state: BucketState = fullBucket(limit, T0);
  const turns: number[] = [];
  for (const { atMs, want } of asks) {
    const leased = leaseTokens(state, limit, want, atMs);
    state = leased.state;
    for (let i = 0; i < leased.grant.granted; i += 1) turns.push(atMs + leased.grant.waitMs);
  }
  return turns.sort((a, b) => a - b);
}

/** The most turns in any window of `windowMs` (windows start at a turn: that is where the maximum is). */
function busiestWindow(turns: number[], windowMs: number): number {
  let most = 0;
  let end = 0;
  for (let start = 0; start < turns.length; start += 1) {
    while (end < turns.length && (turns[end] as number) < (turns[start] as number) + windowMs) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}

describe("the token bucket", () => {
  it("grants its burst at once, then one token per 1/rate, first come first served", () => {
    const limit = bucketLimit(10);
    expect(limit.burst).toBe(2);
    let state = fullBucket(limit, T0);
    const first = leaseTokens(state, limit, 2, T0);
    expect(first.grant).toEqual({ granted: 2, waitMs: 0 });
    state = first.state;
    const second = leaseTokens(state, limit, 1, T0);
    expect(second.grant).toEqual({ granted: 1, waitMs: 100 });
    const third = leaseTokens(second.state, limit, 2, T0 + 10);
    expect(third.grant).toEqual({ granted: 2, waitMs: 290 });
  });

  it("never lets any window see more than burst + rate × window, whoever leases when", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(
          fc.record({ gapMs: fc.integer({ min: 0, max: 400 }), want: fc.integer({ min: 1, max: 6 }) }),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        (perSecond, gaps) => {
          const limit = bucketLimit(perSecond);
          let atMs = T0;
          const asks = gaps.map(({ gapMs, want }) => {
            atMs += gapMs;
            return { atMs, want };
          });
          const turns = turnsOf(limit, asks);
          // Turns are rounded up to whole milliseconds: one more millisecond of rate, never more.
          for (const windowMs of [1, 100, 1000, 5000])
            expect(busiestWindow(turns, windowMs)).toBeLessThanOrEqual(
              Math.floor(limit.burst + (perSecond * (windowMs + 1)) / 1000),
            );
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("keeps up with demand: callers that always ask get the whole rate", () => {
    const limit = bucketLimit(50);
    const asks = Array.from({ length: 2000 }, (_, i) => ({ atMs: T0 + i * 5, want: LEASE_TOKENS_MAX }));
    const turns = turnsOf(limit, asks).filter((turn) => turn < T0 + 10_000);
    expect(turns.length).toBeGreaterThanOrEqual(50 * 10);
    expect(turns.length).toBeLessThanOrEqual(callsAllowedIn(limit, 10_000));
  });

  it("dates no grant beyond the horizon and says when to ask again", () => {
    const limit = bucketLimit(10);
    let state = fullBucket(limit, T0);
    let granted = 0;
    for (let i = 0; i < 10; i += 1) {
      const leased = leaseTokens(state, limit, 2, T0);
      state = leased.state;
      granted += leased.grant.granted;
      if (leased.grant.granted > 0) expect(leased.grant.waitMs).toBeLessThanOrEqual(LEASE_AHEAD_MS_MAX);
      else {
        // Burst 2 now, then 5 more within 500 ms: the 8th token's turn is 600 ms away.
        expect(granted).toBe(7);
        expect(leased.grant.waitMs).toBe(100);
        return;
      }
    }
    throw new Error("the horizon never refused");
  });

  it("after a pause grants nothing before its end, and starts again from empty", () => {
    const limit = bucketLimit(10);
    const paused = pauseBucket(fullBucket(limit, T0), limit, T0, T0 + 2000);
    const during = leaseTokens(paused, limit, 1, T0 + 500);
    expect(during.grant.granted).toBe(0);
    expect(T0 + 500 + during.grant.waitMs).toBe(T0 + 2000 + 100 - LEASE_AHEAD_MS_MAX);
    const after = leaseTokens(paused, limit, 2, T0 + 1900);
    expect(after.grant.granted).toBe(2);
    expect(T0 + 1900 + after.grant.waitMs).toBe(T0 + 2200);
    // A later, shorter pause never shortens a longer one.
    expect(pauseBucket(paused, limit, T0 + 100, T0 + 1000).atMs).toBe(T0 + 2000);
  });
});

describe("the budget's named limits", () => {
  it("tells Stripe live from test mode by the key, and WeChat Pay apart", () => {
    expect(budgetKeyFor("stripe", { secretKey: "sk_live_abc" })).toBe("stripe_live");
    expect(budgetKeyFor("stripe", { secretKey: "rk_live_abc" })).toBe("stripe_live");
    expect(budgetKeyFor("stripe", { secretKey: "sk_test_abc" })).toBe("stripe_test");
    expect(budgetKeyFor("wechatpay", null)).toBe("wechatpay");
  });

  it("keeps every default's worst second under the provider's limit (Stripe: 100/s live, 25/s test)", () => {
    expect(callsAllowedIn(bucketLimit(REQUESTS_PER_SECOND_DEFAULTS.stripe_live), 1000)).toBeLessThan(100);
    expect(callsAllowedIn(bucketLimit(REQUESTS_PER_SECOND_DEFAULTS.stripe_test), 1000)).toBeLessThan(25);
  });

  it("reads PROVIDER_REQUESTS_PER_SECOND and names what is wrong with it", () => {
    const problems: string[] = [];
    const limits = parseBudgetLimits(
      { PROVIDER_REQUESTS_PER_SECOND: " stripe_live=80 , wechatpay=4" },
      problems,
    );
    expect(problems).toEqual([]);
    expect(limits.stripe_live).toEqual({ perSecond: 80, burst: 16 });
    expect(limits.wechatpay).toEqual({ perSecond: 4, burst: 1 });
    expect(limits.stripe_test.perSecond).toBe(REQUESTS_PER_SECOND_DEFAULTS.stripe_test);
    parseBudgetLimits({ PROVIDER_REQUESTS_PER_SECOND: "stripe=10,wechatpay=0,stripe_test=fast" }, problems);
    expect(problems).toEqual([
      'PROVIDER_REQUESTS_PER_SECOND names "stripe"; known: stripe_live, stripe_test, wechatpay',
      "PROVIDER_REQUESTS_PER_SECOND wechatpay must be a number above 0 and at most 1000",
      "PROVIDER_REQUESTS_PER_SECOND stripe_test must be a number above 0 and at most 1000",
    ]);
  });
});
