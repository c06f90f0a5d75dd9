import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { getDeps } from "../../src/deps.ts";
import worker from "../../src/index.ts";
import { DEFAULT_TICK_LIMITS } from "../../src/reconcile/limits.ts";
import { PAYER_CONFIRMING_RECHECK_S } from "../../src/reconcile/plan.ts";
import { runReconcile } from "../../src/reconcile/reconcile.ts";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { BACKFILL_OVERLAP_S } from "../../src/reconcile/stripe-backfill.ts";
import { sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { confirmIntent, intentCheckout, sandboxIntent } from "../support/worker/payment-intent.ts";
import {
  callsByOrder,
  callsFor,
  dueOrders,
  eachOf,
  lastRun,
  purchasesPerOrder,
  runCron,
  startStripeCursorNow,
  statuses,
} from "../support/worker/reconcile.ts";
import { stripeScenario } from "../support/worker/stripe.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

const BIG_TICK_TIMEOUT_MS = 90_000;
const queries = (calls: { method: string; path: string }[]) =>
  calls.filter(
    (c) =>
      c.method === "GET" && (c.path.includes("/out-trade-no/") || c.path.includes("/checkout/sessions/")),
  );

describe("reconcile: paid orders whose callbacks were all dropped", () => {
  const stripePaid: string[] = [];
  const wechatPaid: string[] = [];
  const stripeAbandoned: string[] = [];
  const wechatAbandoned: string[] = [];
  let paidAtClose = "";
  let stripePaidAtExpire = "";
  let stripeSessionAtExpire = "";
  let tick: Awaited<ReturnType<typeof lastRun>>;

  beforeAll(async () => {
    await seedPackage();
    await startStripeCursorNow();
    stripePaid.push(...(await dueOrders("stripe", 200)));
    wechatPaid.push(...(await dueOrders("wechatpay", 200)));
    stripeAbandoned.push(...(await dueOrders("stripe", 5, { expired: true })));
    wechatAbandoned.push(...(await dueOrders("wechatpay", 5, { expired: true })));
    paidAtClose = (await dueOrders("wechatpay", 1, { expired: true }))[0] ?? "";
    stripePaidAtExpire = (await dueOrders("stripe", 1, { expired: true }))[0] ?? "";
    // Every webhook and notification is dropped: the scenarios hand them back and nobody delivers them.
    await eachOf(stripePaid, (orderId) => stripeScenario("pay", { orderId }));
    await eachOf(wechatPaid, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
    await eachOf(stripeAbandoned, async (orderId) => {
      const { sessionId } = await sandbox<{ sessionId: string }>("stripe/abandon", { orderId });
      await sql("update payguard.payment_orders set provider_ref = $2 where id = $1", [orderId, sessionId]);
    });
    // The WeChat abandoned orders were never opened at WeChat: close and query answer ORDER_NOT_EXIST.
    // Past their expiry here, and paid at the provider while the run's close / expire call is in flight
    // (the payment's notification and webhook are dropped like the others).
    await wechatScenario("pay", { orderId: paidAtClose, amountMinor: 990, atClose: true });
    ({ sessionId: stripeSessionAtExpire } = await sandbox<{ sessionId: string }>("stripe/abandon", {
      orderId: stripePaidAtExpire,
    }));
    await sql("update payguard.payment_orders set provider_ref = $2 where id = $1", [
      stripePaidAtExpire,
      stripeSessionAtExpire,
    ]);
    await sandbox("stripe/pay", {
      orderId: stripePaidAtExpire,
      sessionId: stripeSessionAtExpire,
      atExpire: true,
      deliver: false,
    });
    // The one tick every test below looks at, whatever order they run in.
    await runCron(CRON_RECONCILE);
    tick = await lastRun("reconcile");
  }, BIG_TICK_TIMEOUT_MS);

  it(
    "credits all 400 paid orders exactly once in one tick, and closes and expires the abandoned ones",
    async () => {
      expect(await statuses([...stripePaid, ...wechatPaid])).toEqual({ fulfilled: 400 });
      expect(new Set(await purchasesPerOrder([...stripePaid, ...wechatPaid]))).toEqual(new Set([1]));
      expect(await statuses([...stripeAbandoned, ...wechatAbandoned])).toEqual({ expired: 10 });
      for (const [orderId, calls] of await callsByOrder(wechatAbandoned)) {
        const steps = calls.map(
          (c) => `${c.method} ${c.path.endsWith("/close") ? "close" : "query"} ${c.status}`,
        );
        expect(steps, orderId).toEqual(["POST close 404", "GET query 404"]);
      }
      const sessions = await sql<{ provider_ref: string }>(
        "select provider_ref from payguard.payment_orders where id = any($1)",
        [stripeAbandoned],
      );
      for (const { provider_ref } of sessions) {
        const calls = await callsFor(provider_ref);
        expect(calls.map((c) => c.method)).toEqual(["POST", "GET"]);
      }
      // Other job suites' leftovers in this database may be settled or expired by the same tick.
      expect(tick?.status).toBe("ok");
      const { settled, expired } = (tick?.detail ?? {}) as { settled?: number; expired?: number };
      expect(settled).toBeGreaterThanOrEqual(202);
      expect(expired).toBeGreaterThanOrEqual(10);
    },
    BIG_TICK_TIMEOUT_MS,
  );

  it("fulfils an order paid between the close call and the expiry, at WeChat and at Stripe", async () => {
    expect(await statuses([paidAtClose, stripePaidAtExpire])).toEqual({ fulfilled: 2 });
    expect(await purchasesPerOrder([paidAtClose, stripePaidAtExpire])).toEqual([1, 1]);
    // The close met a paid order (WeChat ORDERPAID, Stripe checkout_session_not_open); the query found it paid.
    const wechatCalls = await callsFor(`/${paidAtClose}`);
    expect(wechatCalls.map((c) => `${c.method} ${c.status}`)).toEqual(["POST 400", "GET 200"]);
    const stripeCalls = await callsFor(stripeSessionAtExpire);
    expect(stripeCalls.map((c) => `${c.method} ${c.status}`)).toEqual(["POST 400", "GET 200"]);
    const [session] = (
      await sandbox<{ sessions: { status: string }[] }>(`stripe/sessions?orderId=${stripePaidAtExpire}`)
    ).sessions;
    expect(session?.status).toBe("complete");
  });

  it("a repeated tick asks no provider about these orders again and credits nothing twice", async () => {
    const before = await callsByOrder([...wechatPaid, ...wechatAbandoned]);
    await runCron(CRON_RECONCILE);
    const after = await callsByOrder([...wechatPaid, ...wechatAbandoned]);
    for (const [orderId, calls] of after) expect(calls.length, orderId).toBe(before.get(orderId)?.length);
    expect(new Set(await purchasesPerOrder([...stripePaid, ...wechatPaid]))).toEqual(new Set([1]));
  });
});

describe("reconcile: overlapping ticks and 429 storms", () => {
  beforeAll(seedPackage);

  it("two overlapping ticks query each due order once", async () => {
    const ids = await dueOrders("wechatpay", 30);
    await Promise.all([runCron(CRON_RECONCILE), runCron(CRON_RECONCILE)]);
    for (const [orderId, calls] of await callsByOrder(ids)) expect(queries(calls).length, orderId).toBe(1);
    expect(await statuses(ids)).toEqual({ pending: 30 });
  });

  it(
    "a 429 storm slows a tick without failing it; the rest is checked on the next tick",
    async () => {
      const ids = await dueOrders("wechatpay", 20);
      await eachOf(ids, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
      await sandbox("faults", { api: [{ kind: "429", retryAfterS: 1, count: 45, pathPrefix: "/v3/pay/" }] });
      try {
        await runCron(CRON_RECONCILE);
      } finally {
        await sandbox("faults", { api: [] });
      }
      const stormRun = await lastRun("reconcile");
      expect(stormRun?.status).not.toBe("error");
      const limited = (await callsByOrder(ids)).values();
      expect([...limited].flat().filter((c) => c.status === 429).length).toBeGreaterThan(0);
      // Whatever the storm deferred is due again once its lease ends, before the next 5-minute tick.
      await runCron(CRON_RECONCILE, Date.now() + 5 * 60_000);
      expect(await statuses(ids)).toEqual({ fulfilled: 20 });
      expect(new Set(await purchasesPerOrder(ids))).toEqual(new Set([1]));
    },
    BIG_TICK_TIMEOUT_MS,
  );
});

describe("reconcile: a WeChat payer still confirming", () => {
  beforeAll(seedPackage);

  it("an order answering USERPAYING is due again within seconds instead of on the backoff, then settles", async () => {
    const [orderId = ""] = await dueOrders("wechatpay", 1);
    // Far along the backoff already: the schedule alone would wait 30 minutes.
    await sql("update payguard.payment_orders set check_attempts = 6 where id = $1", [orderId]);
    await wechatScenario("pay", { orderId, amountMinor: 990, paying: true });
    const tickMs = Date.now();
    await runCron(CRON_RECONCILE, tickMs);
    const [row] = await sql<{ status: string; due_in_s: number }>(
      `select status, extract(epoch from next_check_at - $2::timestamptz)::int as due_in_s
         from payguard.payment_orders where id = $1`,
      [orderId, new Date(tickMs).toISOString()],
    );
    expect(row?.status).toBe("pending");
    expect(row?.due_in_s).toBeLessThanOrEqual(PAYER_CONFIRMING_RECHECK_S + 1);
    expect((await lastRun("reconcile"))?.detail).toMatchObject({ recheck_soon: 1 });

    await wechatScenario("pay", { orderId, amountMinor: 990 });
    await runCron(CRON_RECONCILE, tickMs + 60_000);
    expect(await statuses([orderId])).toEqual({ fulfilled: 1 });
    expect(await purchasesPerOrder([orderId])).toEqual([1]);
    expect(queries((await callsByOrder([orderId])).get(orderId) ?? []).length).toBe(2);
  });
});

describe("reconcile: fan-out through the queue", () => {
  beforeAll(seedPackage);

  it("a queue message checks another share of the due orders", async () => {
    const ids = await dueOrders("wechatpay", 10);
    await eachOf(ids, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
    const batch = createMessageBatch("payguard-reconcile", [
      { id: "m1", timestamp: Date.now(), attempts: 1, body: { kind: "reconcile_due" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
    expect(await statuses(ids)).toEqual({ fulfilled: 10 });
    expect((await lastRun("reconcile_fanout"))?.status).toBe("ok");
  });

  it("a tick that stops at its order budget queues the rest, and the consumers finish it", async () => {
    const ids = await dueOrders("wechatpay", 12);
    await eachOf(ids, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
    const outcome = await runReconcile(env, getDeps(env), Date.now(), {
      ...DEFAULT_TICK_LIMITS,
      ordersMax: 5,
    });
    expect(outcome).toMatchObject({ status: "partial", detail: { stopped_by: "orders", fanned_out: 2 } });
    await vi.waitFor(async () => expect(await statuses(ids)).toEqual({ fulfilled: 12 }), {
      timeout: 20_000,
      interval: 250,
    });
    expect(new Set(await purchasesPerOrder(ids))).toEqual(new Set([1]));
  });
});

describe("reconcile: PaymentIntent orders (the Payment Element flow)", () => {
  beforeAll(seedPackage);

  const steps = async (intentId: string) =>
    (await callsFor(intentId)).map(
      (c) => `${c.method} ${c.path.endsWith("/cancel") ? "cancel" : "retrieve"} ${c.status}`,
    );

  it(
    "retrieves a due order's intent (webhook lost) and credits it once; at expiry cancels first, then asks again",
    async () => {
      const [lost, abandoned, lastMoment] = await Promise.all(
        [0, 1, 2].map(() => intentCheckout(crypto.randomUUID())),
      );
      if (!lost || !abandoned || !lastMoment) throw new Error("checkout failed");
      await confirmIntent(lost.paymentIntentId);
      await confirmIntent(lastMoment.paymentIntentId);
      // Only the due orders' queries may find these payments: the backfill starts after their events.
      await sql(
        "select payguard.set_sync_cursor('stripe_events', jsonb_build_object('createdS', $1::bigint), now())",
        [Math.floor(Date.now() / 1000) + BACKFILL_OVERLAP_S + 2],
      );
      await sql(
        "update payguard.payment_orders set next_check_at = now() - interval '1 second' where id = $1",
        [lost.orderId],
      );
      await sql(
        `update payguard.payment_orders set next_check_at = now() - interval '1 second',
                expires_at = now() - interval '1 second' where id = any($1)`,
        [[abandoned.orderId, lastMoment.orderId]],
      );
      await runCron(CRON_RECONCILE);

      const orders = [lost.orderId, abandoned.orderId, lastMoment.orderId];
      expect(
        await sql("select id, status from payguard.payment_orders where id = any($1) order by id", [orders]),
      ).toEqual(
        [
          { id: lost.orderId, status: "fulfilled" },
          { id: abandoned.orderId, status: "expired" },
          { id: lastMoment.orderId, status: "fulfilled" },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
      expect(await purchasesPerOrder([lost.orderId, lastMoment.orderId])).toEqual([1, 1]);
      expect(await steps(lost.paymentIntentId)).toEqual(["GET retrieve 200"]);
      expect(await steps(abandoned.paymentIntentId)).toEqual(["POST cancel 200", "GET retrieve 200"]);
      // Paid before the close: Stripe refuses to cancel a succeeded intent, and the query finds it paid.
      expect(await steps(lastMoment.paymentIntentId)).toEqual(["POST cancel 400", "GET retrieve 200"]);
      expect((await sandboxIntent(abandoned.paymentIntentId)).status).toBe("canceled");
    },
    BIG_TICK_TIMEOUT_MS,
  );

  it("the backfill lists payment_intent.succeeded: a lost webhook is applied from events.list", async () => {
    await startStripeCursorNow();
    const { orderId, paymentIntentId } = await intentCheckout(crypto.randomUUID());
    // Not due: only the backfill can find the payment this tick.
    await sql("update payguard.payment_orders set next_check_at = now() + interval '1 hour' where id = $1", [
      orderId,
    ]);
    const { eventIds } = await confirmIntent(paymentIntentId);
    await runCron(CRON_RECONCILE);
    expect(await statuses([orderId])).toEqual({ fulfilled: 1 });
    expect(await purchasesPerOrder([orderId])).toEqual([1]);
    const inbox = await sql<{ event_type: string; status: string }>(
      "select event_type, status from payguard.webhook_events where provider = 'stripe' and event_id = any($1)",
      [eventIds],
    );
    expect(inbox).toEqual([{ event_type: "payment_intent.succeeded", status: "processed" }]);
    expect(await steps(paymentIntentId)).toEqual([]);
  });
});
