/**
 * The invocation side of the provider budget, on a virtual clock against the real bucket: invocations of
 * six lanes each share the deployment's rate (never above it in any window, and nearly all of it used),
 * with less than one bucket call per request; a 429 one of them meets stops the others within the lease
 * horizon until its Retry-After; an unreachable bucket or a pause longer than the wait refuses at once in
 * the provider's own error shape, sending nothing.
 */
import { describe, expect, it } from "vitest";
import { busiestWindow } from "../../../bench/lib/busiest-window.ts";
import { memoryBuckets } from "../../../bench/lib/memory-budget.ts";
import { createVirtualClock, type VirtualClock } from "../../../bench/lib/virtual-clock.ts";
import {
  BACKGROUND,
  BUDGET_BUSY,
  BUDGET_UNAVAILABLE,
  type BudgetNamespace,
  openProviderBudget,
  retryRateLimited,
} from "../../../src/budget/budget.ts";
import {
  type BucketLimit,
  bucketLimit,
  callsAllowedIn,
  LEASE_AHEAD_MS_MAX,
  LEASE_TTL_MS,
} from "../../../src/budget/limits.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");
const LANES = 6;
const LATENCY_MS = 40;
const URL_ = "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/ord_1";

const depsWith = (namespace: BudgetNamespace, limit: BucketLimit) => ({
  config: { stripe: null, budget: { stripe_live: limit, stripe_test: limit, wechatpay: limit } },
  providerBudgets: namespace,
});

/** A provider that answers after LATENCY_MS; `answer` picks the status of each call (by its number). */
function provider(clock: VirtualClock, answer: (n: number) => Response = () => new Response("{}")) {
  const sent: number[] = [];
  const fetch = (async () => {
    sent.push(clock.now());
    const response = answer(sent.length);
    await clock.sleep(LATENCY_MS);
    return response;
  }) as typeof globalThis.fetch;
  return { sent, fetch };
}

/** One invocation: LANES lanes, each sending `requests` one after another. */
async function invocation(
  deps: ReturnType<typeof depsWith>,
  clock: VirtualClock,
  base: typeof globalThis.fetch,
  requests: number,
) {
  const budget = openProviderBudget(deps, { ...BACKGROUND, clock });
  const send = budget.fetch("wechatpay", base);
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      for (let i = 0; i < requests; i += 1) statuses.push((await send(URL_)).status);
    }),
  );
  return { stats: budget.stats().wechatpay, statuses };
}

describe("the provider budget across invocations", () => {
  it("holds three overlapping invocations to one rate, uses nearly all of it, with leases", async () => {
    const clock = createVirtualClock(T0);
    const limit = bucketLimit(20);
    const deps = depsWith(memoryBuckets(clock), limit);
    const { sent, fetch } = provider(clock);
    const runs = await clock.run(
      Promise.all(
        [0, 700, 1500].map(async (startMs) => {
          await clock.sleep(startMs);
          return invocation(deps, clock, fetch, 30);
        }),
      ),
    );
    expect(sent.length).toBe(3 * LANES * 30);
    for (const windowMs of [100, 1000, 5000])
      expect(busiestWindow(sent, windowMs), `${windowMs} ms`).toBeLessThanOrEqual(
        callsAllowedIn(limit, windowMs),
      );
    const spanS = ((sent.at(-1) as number) - (sent[0] as number)) / 1000;
    expect(spanS).toBeLessThan((sent.length / limit.perSecond) * 1.1);
    const leases = runs.reduce((sum, run) => sum + (run.stats?.budget_calls ?? 0), 0);
    expect(leases / sent.length).toBeLessThan(0.5);
  });

  it("a 429 one invocation meets pauses the others until its Retry-After", async () => {
    const clock = createVirtualClock(T0);
    const deps = depsWith(memoryBuckets(clock), bucketLimit(20));
    let limitedAtMs = 0;
    const { sent, fetch } = provider(clock, (n) => {
      if (n !== 40) return new Response("{}");
      limitedAtMs = clock.now();
      return new Response('{"code":"FREQUENCY_LIMITED"}', { status: 429, headers: { "retry-after": "3" } });
    });
    const runs = await clock.run(
      Promise.all([invocation(deps, clock, fetch, 15), invocation(deps, clock, fetch, 15)]),
    );
    expect(limitedAtMs).toBeGreaterThan(T0);
    const stragglersUntilMs = limitedAtMs + LATENCY_MS + LEASE_AHEAD_MS_MAX + LEASE_TTL_MS;
    const duringPause = sent.filter((at) => at > stragglersUntilMs && at < limitedAtMs + LATENCY_MS + 3000);
    expect(duringPause).toEqual([]);
    expect(sent.filter((at) => at >= limitedAtMs + 3000).length).toBeGreaterThan(0);
    expect(runs.map((run) => run.stats?.rate_limited)).toContain(1);
  });

  it("an unreachable bucket refuses at once in the provider's error shape, sending nothing", async () => {
    const clock = createVirtualClock(T0);
    const deps = depsWith(memoryBuckets(clock, { down: true }), bucketLimit(20));
    const { sent, fetch } = provider(clock);
    const budget = openProviderBudget(deps, { ...BACKGROUND, clock });
    const wechat = await clock.run(budget.fetch("wechatpay", fetch)(URL_));
    expect([wechat.status, await wechat.json()]).toEqual([
      503,
      expect.objectContaining({ code: BUDGET_UNAVAILABLE }),
    ]);
    const stripe = await clock.run(budget.fetch("stripe", fetch)("https://api.stripe.com/v1/events"));
    expect(await stripe.json()).toEqual({
      error: expect.objectContaining({ type: "api_error", code: BUDGET_UNAVAILABLE }),
    });
    expect(sent).toEqual([]);
    expect(budget.stats().wechatpay?.refused).toBe(1);
  });

  it("a pause longer than the wait refuses at once as busy; a caller's expired timeout sends nothing", async () => {
    const clock = createVirtualClock(T0);
    const namespace = memoryBuckets(clock);
    const limit = bucketLimit(20);
    const deps = depsWith(namespace, limit);
    await namespace.get("wechatpay").pause(limit, 60_000);
    const { sent, fetch } = provider(clock);
    const budget = openProviderBudget(deps, { ...BACKGROUND, clock });
    const busy = await clock.run(budget.fetch("wechatpay", fetch)(URL_));
    expect((await busy.json()).code).toBe(BUDGET_BUSY);
    expect(clock.now()).toBe(T0);

    const later = openProviderBudget(depsWith(memoryBuckets(clock), limit), { ...BACKGROUND, clock });
    const send = later.fetch("wechatpay", fetch);
    const timeout = new AbortController();
    const waiting = Promise.all(Array.from({ length: 8 }, () => send(URL_, { signal: timeout.signal })));
    timeout.abort(new Error("timed out"));
    await expect(clock.run(waiting)).rejects.toThrow("timed out");
    expect(sent).toEqual([]);
  });

  it("retries a call the provider answered 429, at most its attempts", async () => {
    let calls = 0;
    const once = await retryRateLimited(async () =>
      ++calls === 1 ? { rateLimited: true as const } : { rateLimited: false as const, value: "ok" },
    );
    expect([once, calls]).toEqual([{ ok: true, value: "ok" }, 2]);
    calls = 0;
    expect(await retryRateLimited(async () => ({ rateLimited: true as const, calls: ++calls }), 3)).toEqual({
      ok: false,
    });
    expect(calls).toBe(3);
  });
});
