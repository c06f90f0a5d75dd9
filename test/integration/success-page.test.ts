import { beforeAll, describe, expect, it } from "vitest";
import { userHeaders } from "../support/worker/auth.ts";
import { call, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { confirmIntent, intentCheckout } from "../support/worker/payment-intent.ts";
import {
  type ControlAnswer,
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";
import { createWechatOrder, setWechatMode, wechatScenario } from "../support/worker/wechat.ts";

beforeAll(seedPackage);

async function getOrder(orderId: string, userId: string, query = "") {
  const response = await call(`/api/orders/${orderId}${query}`, { headers: await userHeaders(userId) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Provider API calls the sandbox answered whose path names this id. */
async function providerCalls(id: string): Promise<number> {
  const { calls } = await sandbox<{ calls: Array<{ path: string }> }>("calls");
  return calls.filter((c) => c.path.includes(id)).length;
}

/** Pays in the sandbox and drops the webhook (the deliveries are handed back, never sent). */
async function payWithDroppedWebhook(orderId: string, userId: string): Promise<string> {
  const paid = await stripeScenario("pay", {
    orderId,
    amountMinor: 1999,
    currency: "usd",
    metadata: { user_id: userId, package_id: "credits_100" },
  });
  return (paid as unknown as { sessionId: string }).sessionId;
}

describe("success page polling is throttled per order", () => {
  it("makes one signed WeChat query for 50 concurrent polls of a pending order", async () => {
    await setWechatMode("public_key");
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    const answers = await Promise.all(Array.from({ length: 50 }, () => getOrder(orderId, user)));
    expect(answers.every((a) => a.status === 200 && a.body.status === "pending")).toBe(true);
    expect(await providerCalls(orderId)).toBe(1);
    const [check] = await sql<{ n: number }>(
      "select count(*)::int as n from payguard.confirm_checks where order_id = $1",
      [orderId],
    );
    expect(check?.n).toBe(1);
  });

  it("still settles at the first poll after the customer paid", async () => {
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990 });
    expect((await getOrder(orderId, user)).body).toMatchObject({ status: "fulfilled" });
    expect(await providerCalls(orderId)).toBe(1);
  });
});

describe("success page with Stripe's session_id", () => {
  it("fulfils an order whose webhook was dropped, before any cron runs", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const sessionId = await payWithDroppedWebhook(orderId, user);
    expect(await orderStatus(orderId)).toBe("pending");
    const answer = await getOrder(orderId, user, `?session_id=${sessionId}`);
    expect(answer).toEqual({
      status: 200,
      body: { id: orderId, status: "fulfilled", amount_minor: 1999, currency: "USD", credits: 100 },
    });
    expect((await ledgerOf(user)).balance).toBe(100);
    const [paid] = await sql<{ source: string }>(
      "select source from payguard.order_events where order_id = $1 and kind = 'paid'",
      [orderId],
    );
    expect(paid?.source).toBe("confirm");
  });

  it("answers 404 and settles nothing for a session of another order", async () => {
    const user = crypto.randomUUID();
    const mine = await createOrder(user);
    const other = await createOrder(user);
    const otherSession = await payWithDroppedWebhook(other, user);
    const answer = await getOrder(mine, user, `?session_id=${otherSession}`);
    expect(answer.status).toBe(404);
    expect(await orderStatus(mine)).toBe("pending");
    expect(await orderStatus(other)).toBe("pending");
  });

  it("answers 404 for a session paid by another user, even on that user's order id", async () => {
    const owner = crypto.randomUUID();
    const orderId = await createOrder(owner);
    const sessionId = await payWithDroppedWebhook(orderId, owner);
    expect((await getOrder(orderId, crypto.randomUUID(), `?session_id=${sessionId}`)).status).toBe(404);
    expect(await orderStatus(orderId)).toBe("pending");
  });

  it("refuses a malformed session id and a session id on a WeChat order with 400", async () => {
    const user = crypto.randomUUID();
    const stripeOrder = await createOrder(user);
    expect((await getOrder(stripeOrder, user, "?session_id=not-a-session")).status).toBe(400);
    const wechatOrder = await createWechatOrder(user);
    expect((await getOrder(wechatOrder, user, "?session_id=cs_test_0123456789")).status).toBe(400);
  });
});

describe("success page with Stripe's payment_intent (the Payment Element's return URL)", () => {
  /** What Stripe appends to the app's return_url after confirmPayment; payguard reads payment_intent only. */
  const returned = (intent: { paymentIntentId: string; clientSecret: string }) =>
    `?payment_intent=${intent.paymentIntentId}&payment_intent_client_secret=${intent.clientSecret}&redirect_status=succeeded`;

  it("fulfils a PaymentIntent order whose webhook was dropped, before any cron runs", async () => {
    const user = crypto.randomUUID();
    const intent = await intentCheckout(user);
    await confirmIntent(intent.paymentIntentId);
    expect(await orderStatus(intent.orderId)).toBe("pending");
    expect(await getOrder(intent.orderId, user, returned(intent))).toEqual({
      status: 200,
      body: { id: intent.orderId, status: "fulfilled", amount_minor: 1999, currency: "USD", credits: 100 },
    });
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
    const [paid] = await sql<{ source: string }>(
      "select source from payguard.order_events where order_id = $1 and kind = 'paid'",
      [intent.orderId],
    );
    expect(paid?.source).toBe("confirm");
  });

  it("asks Stripe once for 20 concurrent polls, and answers pending while the intent awaits the card", async () => {
    const user = crypto.randomUUID();
    const intent = await intentCheckout(user);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => getOrder(intent.orderId, user, returned(intent))),
    );
    expect(answers.every((a) => a.status === 200 && a.body.status === "pending")).toBe(true);
    expect(await providerCalls(intent.paymentIntentId)).toBe(1);
  });

  it("answers 404 and settles nothing for the intent of another order, or of another user", async () => {
    const user = crypto.randomUUID();
    const [mine, alsoMine, other] = [
      await intentCheckout(user),
      await intentCheckout(user),
      await intentCheckout(user),
    ];
    await confirmIntent(other.paymentIntentId);
    expect((await getOrder(mine.orderId, user, returned(other))).status).toBe(404);
    const stranger = crypto.randomUUID();
    const theirs = await intentCheckout(stranger);
    await confirmIntent(theirs.paymentIntentId);
    // A fresh order of the user (the first one's check was just spent): the stranger's paid intent.
    expect((await getOrder(alsoMine.orderId, user, returned(theirs))).status).toBe(404);
    const orders = [mine, alsoMine, other, theirs].map((intent) => intent.orderId);
    expect(await Promise.all(orders.map(orderStatus))).toEqual(["pending", "pending", "pending", "pending"]);
  });

  it("settles nothing from the intent of a Checkout Session: its session's events settle the order", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = (await stripeScenario("pay", {
      orderId,
      metadata: { user_id: user, package_id: "credits_100" },
    })) as ControlAnswer & { paymentIntentId: string };
    const byIntent = await getOrder(orderId, user, `?payment_intent=${paid.paymentIntentId}`);
    expect(byIntent).toMatchObject({ status: 200, body: { status: "pending" } });
    expect((await ledgerOf(user)).balance).toBe(0);
    for (const delivery of paid.deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("refuses a malformed payment_intent, one beside session_id, and one on a WeChat order with 400", async () => {
    const user = crypto.randomUUID();
    const stripeOrder = await createOrder(user);
    expect((await getOrder(stripeOrder, user, "?payment_intent=not-an-intent")).status).toBe(400);
    expect(
      (await getOrder(stripeOrder, user, "?payment_intent=pi_test_0123456789&session_id=cs_test_0123456789"))
        .status,
    ).toBe(400);
    const wechatOrder = await createWechatOrder(user);
    expect((await getOrder(wechatOrder, user, "?payment_intent=pi_test_0123456789")).status).toBe(400);
  });
});
