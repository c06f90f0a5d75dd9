/**
 * Threshold alerts over a sliding window, on an injected clock. Rates are driven the way providers drive
 * them: deliveries recorded through the inbox functions (a failing one answered 5xx and redelivered),
 * orders created and paid through the settlement functions, all at times in 2032 so no other suite's rows
 * fall in the window. The reconcile-repairs check is driven by the sandbox: WeChat payments whose
 * notifications never came, found by a real reconcile tick, and real Stripe deliveries from the sandbox
 * that the worker answers 5xx (an app hook refusing them). Each check opens one incident and resolves it.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deps, getDeps } from "../../src/deps.ts";
import { JOBS } from "../../src/ops/jobs.ts";
import { checkThresholds } from "../../src/ops/thresholds.ts";
import { runJob } from "../../src/reconcile/scheduled.ts";
import { installTestAppHook, removeTestAppHook } from "../support/worker/app-hook.ts";
import { type Delivery, incidentRowsFrom, seedPackage, sql } from "../support/worker/harness.ts";
import { dueOrders, eachOf, lastRun } from "../support/worker/reconcile.ts";
import { createOrder, deliverStripe, stripeScenario } from "../support/worker/stripe.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

const MINUTE_MS = 60_000;
const T = Date.parse("2032-06-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** The deployment's deps with the documented default thresholds (the test bindings raise them). */
function withDefaults(windowMs = 60 * MINUTE_MS): Deps {
  const deps = getDeps(env);
  return {
    ...deps,
    config: {
      ...deps.config,
      ops: {
        ...deps.config.ops,
        thresholds: {
          windowMs,
          callbackFailureRate: 0.2,
          callbackMinDeliveries: 10,
          outOfSyncCount: 5,
          outOfSyncAgeMs: 30 * MINUTE_MS,
          paymentSuccessRateMin: 0.2,
          paymentMinOrders: 20,
          reconcileRepairsMax: 10,
        },
      },
    },
  };
}

/**
 * The rows of `key` this test writes from `nowMs` on. A check two hours before `nowMs` first resolves
 * what another test (or a tick at the real clock) left open, so this test's check opens a row of its own.
 */
async function rowsFromCleanSlate(key: string, nowMs: number): Promise<() => Promise<string[]>> {
  await checkThresholds(withDefaults(), 0, nowMs - 2 * 60 * MINUTE_MS);
  return incidentRowsFrom(key);
}

/** One provider delivery of `eventId` at `atMs`, answered as `outcome` (failed = we answered 5xx). */
async function delivery(eventId: string, atMs: number, outcome: "processed" | "failed"): Promise<void> {
  await sql(
    "select payguard.record_event('stripe', $1, 'checkout.session.completed', null, $2::timestamptz)",
    [eventId, iso(atMs)],
  );
  await sql("select payguard.finish_event('stripe', $1, $2, $3, $4::timestamptz)", [
    eventId,
    outcome,
    outcome === "failed" ? "HTTP 503" : null,
    iso(atMs),
  ]);
}

async function orderAt(atMs: number): Promise<string> {
  const [row] = await sql<{ id: string }>(
    "select (payguard.create_order(gen_random_uuid(), 'credits_100', 'stripe', $1::timestamptz))->>'id' as id",
    [iso(atMs)],
  );
  return row?.id ?? "";
}

async function payAt(
  orderId: string,
  paidAtMs: number,
  source: string,
  creditedAtMs = paidAtMs,
): Promise<void> {
  await sql(
    "select payguard.apply_payment('stripe', $1, $2, 1999, 'USD', $3::timestamptz, $4, $5::timestamptz)",
    [orderId, `pi_${orderId}`, iso(paidAtMs), source, iso(creditedAtMs)],
  );
}

beforeAll(seedPackage);
// The reconcile ticks above ran at the real clock with the defaults, over every suite's orders: leave the
// incidents as the deployment's own limits see them.
afterAll(() => checkThresholds(getDeps(env), 0, Date.now()));

describe("threshold alerts", () => {
  it("callback failure rate above 20% opens one incident; redelivered successes bring it back under", async () => {
    const key = "threshold:callback_failure_rate:stripe";
    const rows = await rowsFromCleanSlate(key, T);
    const run = crypto.randomUUID();
    const failing = [0, 1, 2].map((i) => `evt_fail_${run}_${i}`);
    for (let i = 0; i < 7; i += 1) await delivery(`evt_ok_${run}_${i}`, T - 30 * MINUTE_MS, "processed");
    for (const id of failing) {
      await delivery(id, T - 30 * MINUTE_MS, "failed");
      await delivery(id, T - 25 * MINUTE_MS, "failed");
    }
    const first = await checkThresholds(withDefaults(), 0, T);
    expect(first.stats.callbacks.stripe).toEqual({ deliveries: 13, failed: 6 });
    await checkThresholds(withDefaults(), 0, T + MINUTE_MS);
    expect(await rows()).toEqual(["open"]);

    for (const id of failing) await delivery(id, T + 5 * MINUTE_MS, "processed");
    for (let i = 0; i < 20; i += 1) await delivery(`evt_more_${run}_${i}`, T + 5 * MINUTE_MS, "processed");
    const after = await checkThresholds(withDefaults(), 0, T + 10 * MINUTE_MS);
    expect(after.stats.callbacks.stripe).toEqual({ deliveries: 36, failed: 6 });
    expect(await rows()).toEqual(["resolved"]);
  });

  it("payment success below 20% of at least 20 orders opens one incident; more payments resolve it", async () => {
    const key = "threshold:payment_success_rate";
    const rows = await rowsFromCleanSlate(key, T + 3 * 60 * MINUTE_MS);
    const start = T + 3 * 60 * MINUTE_MS;
    const orders: string[] = [];
    for (let i = 0; i < 20; i += 1) orders.push(await orderAt(start - 20 * MINUTE_MS));
    for (const id of orders.slice(0, 2)) await payAt(id, start - 15 * MINUTE_MS, "webhook");
    const low = await checkThresholds(withDefaults(), 0, start);
    expect(low.stats.payments).toEqual({ created: 20, paid: 2 });
    expect(await rows()).toEqual(["open"]);

    for (const id of orders.slice(2, 6)) await payAt(id, start + MINUTE_MS, "webhook");
    await checkThresholds(withDefaults(), 0, start + 10 * MINUTE_MS);
    expect(await rows()).toEqual(["resolved"]);
  });

  it("more than 5 paid orders credited by reconcile instead of their callback opens one incident; it slides out", async () => {
    const key = "threshold:orders_out_of_sync";
    const rows = await rowsFromCleanSlate(key, T + 24 * 60 * MINUTE_MS);
    const start = T + 24 * 60 * MINUTE_MS;
    for (let i = 0; i < 6; i += 1) {
      const id = await orderAt(start - 40 * MINUTE_MS);
      await payAt(id, start - 30 * MINUTE_MS, "reconcile", start - 25 * MINUTE_MS);
    }
    const found = await checkThresholds(withDefaults(), 0, start);
    expect(found.stats.out_of_sync).toEqual({ count: 6, oldest_lag_s: 300 });
    expect(await rows()).toEqual(["open"]);
    await checkThresholds(withDefaults(), 0, start + 40 * MINUTE_MS);
    expect(await rows()).toEqual(["resolved"]);
  });

  it("a reconcile tick that had to settle more than 10 orders opens one incident; a quiet tick resolves it", async () => {
    const key = "threshold:reconcile_repairs";
    const rows = await incidentRowsFrom(key);
    const ids = await dueOrders("wechatpay", 11);
    await eachOf(ids, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
    const deps = withDefaults();
    await runJob("reconcile", JOBS.reconcile, env, deps, Date.now(), Date.now);
    const tick = await lastRun("reconcile");
    expect(Number(tick?.detail.settled)).toBeGreaterThanOrEqual(11);
    expect(tick?.detail.thresholds).toEqual({ failing: expect.arrayContaining([key]) });
    expect(await rows()).toEqual(["open"]);

    await runJob("reconcile", JOBS.reconcile, env, deps, Date.now(), Date.now);
    expect(await rows()).toEqual(["resolved"]);
  });
});

describe("threshold alerts from sandbox deliveries", () => {
  beforeAll(async () => {
    await installTestAppHook();
  });
  afterAll(removeTestAppHook);

  /** A Stripe payment at the sandbox whose delivery the worker will get; `broken` users are refused. */
  async function payment(broken: boolean): Promise<{ user: string; delivery: Delivery }> {
    const user = crypto.randomUUID();
    await sql("insert into payguard_app.hook_users (user_id, broken) values ($1, $2)", [user, broken]);
    const orderId = await createOrder(user);
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    return { user, delivery };
  }

  it("Stripe deliveries answered 5xx push the failure rate over 20%; once they go through it falls back under", async () => {
    const key = "threshold:callback_failure_rate:stripe";
    const rows = await incidentRowsFrom(key);
    const startMs = Date.now();
    const answers: number[] = [];
    const send = async (delivery: Delivery) => answers.push((await deliverStripe(delivery)).status);
    const refused = await Promise.all([1, 2, 3, 4].map(() => payment(true)));
    for (const { delivery } of await Promise.all([1, 2, 3, 4, 5, 6].map(() => payment(false))))
      await send(delivery);
    // Stripe retries what was answered 5xx: every refused delivery twice.
    for (const { delivery } of [...refused, ...refused]) await send(delivery);
    const check = (nowMs: number) => checkThresholds(withDefaults(nowMs - startMs), 0, nowMs);

    const failing = await check(Date.now() + 1);
    expect(answers.filter((status) => status >= 500)).toHaveLength(8);
    expect(failing.stats.callbacks.stripe).toEqual({ deliveries: answers.length, failed: 8 });
    const opened = await rows();
    expect(opened.at(-1)).toBe("open");
    expect(opened.filter((row) => row === "open")).toHaveLength(1);

    await sql("update payguard_app.hook_users set broken = false where user_id = any($1)", [
      refused.map(({ user }) => user),
    ]);
    for (const { delivery } of refused) await send(delivery);
    for (const { delivery } of await Promise.all(Array.from({ length: 30 }, () => payment(false))))
      await send(delivery);
    const recovered = await check(Date.now() + 1);
    expect(answers.filter((status) => status >= 500)).toHaveLength(8);
    expect(recovered.stats.callbacks.stripe).toEqual({ deliveries: answers.length, failed: 8 });
    expect((await rows()).at(-1)).toBe("resolved");
  });
});
