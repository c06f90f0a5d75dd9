import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  adminActionsWithReason,
  adminHeaders,
  call,
  type Delivery,
  sandbox,
  seedPackage,
  sql,
} from "../support/worker/harness.ts";
import {
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";
import { seedPlan, settleHistory } from "../support/worker/subscriptions.ts";
import { createWechatOrder, setWechatMode, wechatScenario } from "../support/worker/wechat.ts";

beforeAll(seedPackage);

/** The named token configured (as its hash) in the global setup's ADMIN_TOKENS. */
const CI_TOKEN = "test-ci-admin-token-0123456789";
const ci = { authorization: `Bearer ${CI_TOKEN}` };

const get = (path: string, headers: Record<string, string> = ci) => call(`/admin/api${path}`, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = ci) =>
  call(`/admin/api${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const REASON = "ticket 42: customer paid, no credits";
const actionsWithReason = () => adminActionsWithReason(REASON);

/** A Stripe order paid at the sandbox whose webhook never arrived. */
async function paidWithoutWebhook(user = crypto.randomUUID()) {
  const orderId = await createOrder(user);
  const paid = (await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" })) as unknown as {
    sessionId: string;
    eventIds: string[];
  };
  await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
  return { user, orderId, ...paid };
}

/** Ids of the events Stripe emitted about one object (refund.created, charge.refunded, ...). */
async function stripeEventsAbout(objectId: string): Promise<string[]> {
  const response = await fetch(`${inject("sandboxUrl")}/v1/events?limit=100`, {
    headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
  });
  const { data } = (await response.json()) as { data: Array<{ id: string; data: { object: unknown } }> };
  return data
    .filter((event) => JSON.stringify(event.data.object).includes(objectId))
    .map((event) => event.id);
}

async function actions(orderId: string | null, action: string) {
  return sql<{ actor: string; reason: string; outcome: string; target: string | null }>(
    `select actor, reason, outcome, target from payguard.admin_actions
      where action = $2 and (order_id = $1 or $1 is null) order by id`,
    [orderId, action],
  );
}

const ENDPOINTS: Array<[string, string, unknown]> = [
  ["GET", "/overview", undefined],
  ["GET", "/orders", undefined],
  ["GET", "/orders/ord_unknown_0001", undefined],
  ["GET", "/users/2b6f4c1e-1d7a-4c55-9a43-0f5d8e3b7a10/subscriptions", undefined],
  ["POST", "/orders/sync", { reason: REASON }],
  ["POST", "/orders/ord_unknown_0001/sync", { reason: REASON }],
  ["POST", "/orders/ord_unknown_0001/repair", { reason: REASON, kind: "grant" }],
  ["POST", "/orders/ord_unknown_0001/expire", { reason: REASON }],
  ["POST", "/orders/ord_unknown_0001/refund", { reason: REASON }],
  ["POST", "/orders/ord_unknown_0001/resolve-review", { reason: REASON, resolution: "reject" }],
  ["POST", "/stripe/events/evt_unknown/replay", { reason: REASON }],
  ["GET", "/incidents", undefined],
  ["POST", "/incidents/acknowledge", { key: "k", reason: REASON }],
  ["POST", "/incidents/mute", { key: "k", reason: REASON, minutes: 5 }],
  ["POST", "/incidents/resolve", { key: "k", reason: REASON }],
  ["GET", "/jobs", undefined],
  ["POST", "/jobs/reconcile/run", { reason: REASON }],
];

describe("admin API authentication", () => {
  it.each(ENDPOINTS)(
    "%s %s answers 401 without a token, with a wrong one, and writes nothing",
    async (method, path, body) => {
      const before = await actionsWithReason();
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: "Bearer wrong-token-0123456789abcdef" },
        { authorization: CI_TOKEN },
      ];
      // One address per endpoint: wrong tokens are throttled per address (429 after 10 a minute).
      const address = `198.18.0.${ENDPOINTS.findIndex(([m, p]) => m === method && p === path) + 1}`;
      for (const attempt of attempts) {
        const headers = { ...attempt, "cf-connecting-ip": address };
        const response = method === "GET" ? await get(path, headers) : await post(path, body, headers);
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: "unauthorized" });
      }
      expect(await actionsWithReason()).toEqual(before);
    },
  );

  it("accepts ADMIN_TOKEN as the token named admin", async () => {
    const { orderId } = await paidWithoutWebhook();
    expect((await post(`/orders/${orderId}/sync`, { reason: REASON }, adminHeaders())).status).toBe(200);
    expect(await actions(orderId, "sync")).toMatchObject([{ actor: "admin", reason: REASON }]);
  });
});

const INVALID: Array<[string, string, unknown]> = [
  ["GET", "/overview?hours=0", undefined],
  ["GET", "/orders?status=paid", undefined],
  ["GET", "/orders?user=not-a-uuid", undefined],
  ["GET", "/orders?limit=100000", undefined],
  ["GET", "/orders/x", undefined],
  ["GET", "/users/not-a-uuid/subscriptions", undefined],
  ["POST", "/orders/sync", { reason: REASON, limit: 10_000 }],
  ["POST", "/orders/ord_unknown_0001/sync", {}],
  ["POST", "/orders/ord_unknown_0001/sync", { reason: "" }],
  ["POST", "/orders/ord_unknown_0001/repair", { reason: REASON, kind: "everything" }],
  ["POST", "/orders/ord_unknown_0001/refund", { reason: REASON, amount_minor: -5 }],
  ["POST", "/orders/ord_unknown_0001/refund", { reason: REASON, amount_minor: 1.5 }],
  ["POST", "/orders/ord_unknown_0001/refund", { reason: REASON, payment_ref: "not a ref!" }],
  ["POST", "/orders/ord_unknown_0001/resolve-review", { reason: REASON, resolution: "maybe" }],
  ["POST", "/stripe/events/not_an_event/replay", { reason: REASON }],
  ["GET", "/incidents?status=weird", undefined],
  ["POST", "/incidents/acknowledge", { reason: REASON }],
  ["POST", "/incidents/mute", { key: "k", reason: REASON, minutes: 0 }],
  ["POST", "/incidents/resolve", { key: "", reason: REASON }],
  ["POST", "/jobs/make_coffee/run", { reason: REASON }],
];

describe("admin API input validation", () => {
  it.each(INVALID)("%s %s answers 400 and writes nothing", async (method, path, body) => {
    const before = await actionsWithReason();
    const response = method === "GET" ? await get(path) : await post(path, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "bad_request" });
    expect(await actionsWithReason()).toEqual(before);
  });

  it("answers 400 for a malformed JSON body", async () => {
    const response = await call("/admin/api/orders/ord_unknown_0001/sync", {
      method: "POST",
      headers: { ...ci, "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
  });
});

describe("admin API reads", () => {
  it("searches orders by provider reference and user, and shows the full detail", async () => {
    const { user, orderId, sessionId } = await paidWithoutWebhook();
    const byRef = (await (await get(`/orders?q=${sessionId}`)).json()) as {
      total: number;
      orders: Array<{ id: string }>;
    };
    expect(byRef).toMatchObject({ total: 1, orders: [{ id: orderId }] });
    const byUser = (await (await get(`/orders?user=${user}&status=pending`)).json()) as { total: number };
    expect(byUser.total).toBe(1);
    const detail = (await (await get(`/orders/${orderId}`)).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({
      id: orderId,
      status: "pending",
      timeline: [{ kind: "created" }],
      ledger: [],
    });
    expect((await get("/orders/ord_unknown_0001")).status).toBe(404);
  });

  it("answers a user's subscriptions newest first, each invoice with what the rule grants, what was granted and what expired", async () => {
    const user = crypto.randomUUID();
    const plan = await seedPlan("api_reset_monthly", { name: "Reset monthly", expiry: "reset" });
    const { older, newer } = await settleHistory(user, plan);
    const response = await get(`/users/${user}/subscriptions`);
    expect(response.status).toBe(200);
    const grant = { credits: 100, rule: "full period", order_status: "fulfilled", granted: 100 };
    expect(await response.json()).toMatchObject({
      userId: user,
      subscriptions: [
        {
          id: newer.id,
          user_id: user,
          package_id: plan.id,
          plan_name: "Reset monthly",
          status: "active",
          cancel_at_period_end: false,
          invoices: [{ invoice_ref: newer.created, ...grant, order_id: newer.created, expired: 0 }],
        },
        {
          id: older.id,
          status: "canceled",
          cancel_at_period_end: true,
          invoices: [
            {
              invoice_ref: older.downgrade,
              billing_reason: "subscription_update",
              amount_paid_minor: 0,
              currency: "USD",
              credits: 0,
              rule: "proration: nothing due",
              order_id: null,
              granted: 0,
              expired: 0,
            },
            { invoice_ref: older.renewal, billing_reason: "subscription_cycle", ...grant, expired: 0 },
            // The renewal of a reset plan expired what was left of the first period's grant.
            { invoice_ref: older.created, billing_reason: "subscription_create", ...grant, expired: 100 },
          ],
        },
      ],
    });
    expect(await (await get(`/users/${crypto.randomUUID()}/subscriptions`)).json()).toMatchObject({
      subscriptions: [],
    });
  });

  it("gives the overview for a window, the incidents and the job runs", async () => {
    const overview = (await (await get("/overview?hours=24")).json()) as Record<string, unknown>;
    expect(overview).toHaveProperty("orders_by_status");
    expect(overview).toHaveProperty("latency_ms_by_path");
    expect(overview).toHaveProperty("webhooks_by_provider");
    expect(overview.series).toHaveLength(25);
    expect((await get("/incidents?status=all")).status).toBe(200);
    expect((await get("/jobs")).status).toBe(200);
  });
});

describe("admin API actions, attributed", () => {
  it("syncs an order whose webhook was dropped: fulfilled once, by whom and why on the timeline", async () => {
    const { user, orderId } = await paidWithoutWebhook();
    const response = await post(`/orders/${orderId}/sync`, { reason: REASON });
    expect(await response.json()).toMatchObject({ outcome: "fulfilled" });
    expect((await post(`/orders/${orderId}/sync`, { reason: REASON })).status).toBe(200);
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await actions(orderId, "sync")).toMatchObject([
      { actor: "ci", reason: REASON, outcome: "fulfilled" },
      { actor: "ci", outcome: "duplicate" },
    ]);
    const timeline = await sql<{ kind: string; source: string; actor: string | null }>(
      "select kind, source, detail->>'actor' as actor from payguard.order_events where order_id = $1 order by id",
      [orderId],
    );
    expect(timeline).toContainEqual({ kind: "paid", source: "admin", actor: null });
    expect(timeline).toContainEqual({ kind: "admin_sync", source: "admin", actor: "ci" });
  });

  it("syncs a filtered set, bounded", async () => {
    const { orderId } = await paidWithoutWebhook();
    const response = await post("/orders/sync", { reason: REASON, status: "pending", limit: 50 });
    const { results } = (await response.json()) as { results: Array<{ orderId: string; outcome: string }> };
    expect(results.length).toBeLessThanOrEqual(50);
    expect(results).toContainEqual({ orderId, outcome: "fulfilled" });
  });

  it("replays a Stripe event fetched by id from Stripe", async () => {
    const { user, orderId, eventIds } = await paidWithoutWebhook();
    const completed = eventIds.find((id) => id.startsWith("evt_"));
    const response = await post(`/stripe/events/${completed}/replay`, { reason: REASON });
    expect(response.status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await actions(null, "replay_stripe_event")).toContainEqual(
      expect.objectContaining({ actor: "ci", target: completed }),
    );
    expect((await post("/stripe/events/evt_does_not_exist/replay", { reason: REASON })).status).toBe(404);
  });

  it("refunds half at Stripe: the clawback follows from the refund fact, once", async () => {
    const { user, orderId } = await paidWithoutWebhook();
    await post(`/orders/${orderId}/sync`, { reason: REASON });
    // A payment the order does not have: refused, nothing moves.
    const foreign = await post(`/orders/${orderId}/refund`, {
      reason: "goodwill",
      payment_ref: "pi_not_this_order",
    });
    expect(foreign.status).toBe(404);
    expect((await ledgerOf(user)).rows).toEqual([{ kind: "purchase", credits: 100 }]);
    const refunded = await post(`/orders/${orderId}/refund`, { reason: "goodwill", amount_minor: 1000 });
    expect(await refunded.json()).toMatchObject({ outcome: "partially_refunded" });
    expect((await ledgerOf(user)).rows).toEqual([
      { kind: "purchase", credits: 100 },
      { kind: "clawback", credits: -50 },
    ]);
    const [refund] = await sql<{ refund_ref: string }>(
      "select refund_ref from payguard.payment_refunds where order_id = $1",
      [orderId],
    );
    expect(refund?.refund_ref).toMatch(/^re_/);
    // Stripe's own webhooks for that refund arrive later: they find the refund applied, nothing more moves.
    const refundEvents = await stripeEventsAbout(refund?.refund_ref ?? "");
    expect(refundEvents.length).toBeGreaterThanOrEqual(2);
    for (const eventId of refundEvents) {
      const { delivery } = await sandbox<{ delivery: Delivery }>("stripe/sign", { eventId });
      expect((await deliverStripe(delivery)).status).toBe(200);
    }
    expect((await ledgerOf(user)).balance).toBe(50);
    expect(await actions(orderId, "refund")).toMatchObject([
      { actor: "ci", reason: "goodwill", outcome: "failed:not_found", target: "pi_not_this_order" },
      { actor: "ci", reason: "goodwill", outcome: "partially_refunded" },
    ]);
  });

  it("refunds at WeChat Pay: PROCESSING first, keyed by out_refund_no, the clawback once WeChat says SUCCESS", async () => {
    await setWechatMode("public_key");
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990 });
    await post(`/orders/${orderId}/sync`, { reason: REASON });
    const first = (await (
      await post(`/orders/${orderId}/refund`, { reason: "goodwill", amount_minor: 495 })
    ).json()) as {
      outcome: string;
      detail: { refund_ref: string };
    };
    expect(first.outcome).toBe("refund_processing");
    const again = (await (
      await post(`/orders/${orderId}/refund`, { reason: "goodwill", amount_minor: 495 })
    ).json()) as {
      detail: { refund_ref: string };
    };
    expect(again.detail.refund_ref).toBe(first.detail.refund_ref);
    // The repeat finds WeChat's refund succeeded: that verified answer is the refund fact, applied once.
    expect((await ledgerOf(user)).rows).toEqual([
      { kind: "purchase", credits: 100 },
      { kind: "clawback", credits: -50 },
    ]);
    const { orders } = await sandbox<{ orders: Array<{ outTradeNo: string; tradeState: string }> }>(
      "wechat/orders",
    );
    expect(orders.find((order) => order.outTradeNo === orderId)?.tradeState).toBe("REFUND");
    expect(await actions(orderId, "refund")).toMatchObject([
      { actor: "ci", outcome: "refund_processing" },
      { actor: "ci", outcome: "partially_refunded" },
    ]);
  });

  it("repairs a missing grant and a wrong balance from the ledger", async () => {
    const { user, orderId } = await paidWithoutWebhook();
    await post(`/orders/${orderId}/sync`, { reason: REASON });
    await sql("update payguard.credit_balances set credits = 7 where user_id = $1::uuid", [user]);
    const repaired = await post(`/orders/${orderId}/repair`, { reason: REASON, kind: "balance" });
    expect(await repaired.json()).toMatchObject({ outcome: "balance_recomputed", detail: { delta: 93 } });
    const grant = await post(`/orders/${orderId}/repair`, { reason: REASON, kind: "grant" });
    expect(await grant.json()).toMatchObject({ outcome: "noop" });
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await actions(orderId, "repair_balance")).toMatchObject([
      { actor: "ci", outcome: "balance_recomputed" },
    ]);
  });

  it("expires an unpaid order after closing it at the provider, and refuses a paid one", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const opened = (await stripeScenario("abandon", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
    })) as unknown as {
      sessionId: string;
    };
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, opened.sessionId]);
    expect(await (await post(`/orders/${orderId}/expire`, { reason: REASON })).json()).toMatchObject({
      outcome: "expired",
    });
    expect(await orderStatus(orderId)).toBe("expired");
    const paid = await paidWithoutWebhook();
    await post(`/orders/${paid.orderId}/sync`, { reason: REASON });
    expect((await post(`/orders/${paid.orderId}/expire`, { reason: REASON })).status).toBe(409);
    expect(await actions(paid.orderId, "expire")).toMatchObject([
      { actor: "ci", outcome: "failed:conflict" },
    ]);
  });

  it("refuses to fulfil a review with no recorded payment (409, nothing granted)", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    await sql("select payguard.flag_order($1, 'looks odd', now())", [orderId]);
    const response = await post(`/orders/${orderId}/resolve-review`, {
      reason: REASON,
      resolution: "fulfil",
    });
    expect(response.status).toBe(409);
    expect((await ledgerOf(user)).balance).toBe(0);
  });

  it("resolves a review with a note", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    await sql("select payguard.flag_order($1, 'customer disputes the charge', now())", [orderId]);
    // The payment of the order's amount arrives while the order is in review: recorded and credited once
    // (a rejection would take the grant back); the order stays in review until an operator decides.
    await sql(
      `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
         p_amount_minor => 1999, p_currency => 'USD', p_paid_at => now(), p_source => 'webhook', p_now => now())`,
      [orderId, `cs_review_${crypto.randomUUID()}`],
    );
    expect(await orderStatus(orderId)).toBe("needs_review");
    const response = await post(`/orders/${orderId}/resolve-review`, {
      reason: "checked the bank",
      resolution: "fulfil",
    });
    expect(await response.json()).toMatchObject({ outcome: "fulfilled" });
    expect((await ledgerOf(user)).balance).toBe(100);
    const [event] = await sql<{ note: string }>(
      "select detail->>'note' as note from payguard.order_events where order_id = $1 and kind = 'review_resolved'",
      [orderId],
    );
    expect(event?.note).toBe("ci: checked the bank");
  });

  it("runs a job now", async () => {
    const response = await post("/jobs/reconcile/run", { reason: REASON });
    expect(await response.json()).toMatchObject({ outcome: "ok" });
    expect(await actions(null, "run_job")).toContainEqual(
      expect.objectContaining({ actor: "ci", target: "reconcile" }),
    );
  });

  it("acknowledges, mutes and resolves an incident", async () => {
    const key = `test_incident:${crypto.randomUUID()}`;
    await sql("select payguard.open_incident($1, 'test', 'warning', 'something', '{}'::jsonb, now())", [key]);
    expect((await post("/incidents/acknowledge", { key, reason: REASON })).status).toBe(200);
    expect((await post("/incidents/mute", { key, reason: REASON, minutes: 30 })).status).toBe(200);
    const [row] = await sql<{ acknowledged_by: string; muted_by: string }>(
      "select acknowledged_by, muted_by from payguard.incidents where key = $1",
      [key],
    );
    expect(row).toEqual({ acknowledged_by: "ci", muted_by: "ci" });
    expect((await post("/incidents/resolve", { key, reason: REASON })).status).toBe(200);
    expect((await post("/incidents/acknowledge", { key, reason: REASON })).status).toBe(404);
    const recorded = await sql<{ action: string }>(
      "select action from payguard.admin_actions where target = $1 order by id",
      [key],
    );
    expect(recorded.map((r) => r.action)).toEqual([
      "incident_acknowledge",
      "incident_mute",
      "incident_resolve",
      "incident_acknowledge",
    ]);
  });
});
