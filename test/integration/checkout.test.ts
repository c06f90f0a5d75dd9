/**
 * Checkout end to end, in workerd against the stand-in and the sandbox over HTTP: payguard writes the
 * order, creates the provider session, the customer pays at the sandbox, the signed notification
 * reaches the webhook, and the success page (GET /api/orders/:id with the user's token) shows it credited.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { userToken } from "../support/worker/auth.ts";
import { call, type Delivery, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import {
  confirmIntent,
  INTENT_BODY,
  type IntentCheckout,
  intentCheckoutResponse,
} from "../support/worker/payment-intent.ts";
import { deliverStripe, ledgerOf, orderStatus } from "../support/worker/stripe.ts";
import { deliverWechat, only, type WechatAnswer } from "../support/worker/wechat.ts";

const newUser = () => crypto.randomUUID();

async function checkout(user: string, body: unknown, key?: string): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${await userToken(user)}`,
  };
  if (key) headers["idempotency-key"] = key;
  return call("/api/checkout", { method: "POST", headers, body: JSON.stringify(body) });
}

async function successPage(user: string, orderId: string) {
  const response = await call(`/api/orders/${orderId}`, {
    headers: { authorization: `Bearer ${await userToken(user)}` },
  });
  return (await response.json()) as { status: string; credits: number };
}

const countOrders = async (user: string) =>
  (
    await sql<{ n: number }>(
      "select count(*)::int as n from payguard.payment_orders where user_id = $1::uuid",
      [user],
    )
  )[0]?.n ?? 0;

interface SandboxSession {
  id: string;
  client_reference_id: string;
  metadata: Record<string, string>;
  expires_at: number;
  success_url: string;
  url: string;
}

const sessionsOf = async (orderId: string) =>
  (await sandbox<{ sessions: SandboxSession[] }>(`stripe/sessions?orderId=${orderId}`)).sessions;

/** The signed `checkout.session.completed` the sandbox emitted for a session, as Stripe would send it. */
async function completedEvent(sessionId: string): Promise<Delivery> {
  const response = await fetch(
    `${inject("sandboxUrl")}/v1/events?type=checkout.session.completed&limit=100`,
    {
      headers: { authorization: `Bearer ${inject("workerBindings").STRIPE_SECRET_KEY}` },
    },
  );
  const { data } = (await response.json()) as {
    data: Array<{ id: string; data: { object: { id: string } } }>;
  };
  const event = data.find((e) => e.data.object.id === sessionId);
  if (!event) throw new Error(`no completed event for ${sessionId}`);
  return (await sandbox<{ delivery: Delivery }>("stripe/sign", { eventId: event.id })).delivery;
}

beforeAll(async () => {
  await seedPackage();
  await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, bonus_credits, stock_limit)
    values ('drop_usd', 'Launch drop', 4999, 'USD', 600, 100, 1), ('drop_cny', 'Launch drop', 990, 'CNY', 120, 20, 3),
           ('shelf_cny', 'On the shelf', 990, 'CNY', 120, 20, 3)
    on conflict (id) do nothing`);
});

describe("packages", () => {
  it("lists active packages with price, credits, bonus and remaining stock, cacheable briefly", async () => {
    const response = await call("/api/packages");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=30");
    const { packages } = (await response.json()) as { packages: Array<Record<string, unknown>> };
    expect(packages.find((p) => p.id === "credits_100")).toEqual({
      id: "credits_100",
      name: "100 credits",
      amountMinor: 1999,
      currency: "USD",
      credits: 100,
      bonusCredits: 0,
      stockRemaining: null,
    });
    // No test buys this one: the drops' stock moves with the other tests, in whatever order they run.
    expect(packages.find((p) => p.id === "shelf_cny")).toMatchObject({
      credits: 120,
      bonusCredits: 20,
      stockRemaining: 3,
    });
  });
});

describe("Stripe Checkout", () => {
  it("checkout → hosted page pays → success page credits at once → the webhook credits nothing more", async () => {
    const user = newUser();
    const response = await checkout(user, { packageId: "credits_100", provider: "stripe" });
    expect(response.status).toBe(201);
    const { orderId, url } = (await response.json()) as { orderId: string; url: string };
    const [session] = await sessionsOf(orderId);
    expect(session).toMatchObject({
      url,
      client_reference_id: orderId,
      metadata: { order_id: orderId, user_id: user, package_id: "credits_100" },
    });
    const [order] = await sql<{ provider_ref: string; expires_at: string }>(
      "select provider_ref, expires_at from payguard.payment_orders where id = $1",
      [orderId],
    );
    expect(order?.provider_ref).toBe(session?.id);
    expect(session?.expires_at).toBe(Math.floor(Date.parse(order?.expires_at ?? "") / 1000));

    const paid = await fetch(url, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toContain(`/api/orders/${orderId}?session_id=${session?.id}`);
    expect(await successPage(user, orderId)).toMatchObject({ status: "fulfilled", credits: 100 });

    expect((await deliverStripe(await completedEvent(session?.id ?? ""))).status).toBe(200);
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("the webhook alone credits an order created through checkout", async () => {
    const user = newUser();
    const { orderId, url } = (await (
      await checkout(user, { packageId: "credits_100", provider: "stripe" })
    ).json()) as {
      orderId: string;
      url: string;
    };
    await fetch(url, { method: "POST", redirect: "manual" });
    const [session] = await sessionsOf(orderId);
    expect((await deliverStripe(await completedEvent(session?.id ?? ""))).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect(await successPage(user, orderId)).toMatchObject({ status: "fulfilled" });
  });
});

describe("WeChat Pay", () => {
  it("Native: checkout → code_url → customer pays → notification → credited; success page shows it", async () => {
    const user = newUser();
    const response = await checkout(user, {
      packageId: "credits_cny",
      provider: "wechatpay",
      tradeType: "native",
    });
    expect(response.status).toBe(201);
    const { orderId, codeUrl } = (await response.json()) as { orderId: string; codeUrl: string };
    expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    const paid = await sandbox<WechatAnswer>("wechat/pay", { orderId, deliver: false });
    expect((await deliverWechat(only(paid))).status).toBe(204);
    expect(await successPage(user, orderId)).toMatchObject({ status: "fulfilled", credits: 100 });
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("JSAPI: signed requestPayment parameters that WeChat's client accepts → paid → credited", async () => {
    const user = newUser();
    const response = await checkout(user, {
      packageId: "drop_cny",
      provider: "wechatpay",
      tradeType: "jsapi",
      openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    });
    expect(response.status).toBe(201);
    const { orderId, payParams } = (await response.json()) as {
      orderId: string;
      payParams: Record<string, string>;
    };
    expect(payParams).toMatchObject({
      appId: inject("wechat").appid,
      signType: "RSA",
      package: expect.stringMatching(/^prepay_id=wx/),
      timeStamp: expect.stringMatching(/^\d{10}$/),
    });
    // The sandbox verifies paySign with the merchant public key (node:crypto) before it pays.
    const paid = await sandbox<WechatAnswer>("wechat/jsapi/pay", { ...payParams, deliver: false });
    expect((await deliverWechat(only(paid))).status).toBe(204);
    expect(await successPage(user, orderId)).toMatchObject({ status: "fulfilled", credits: 120 });
  });
});

describe("idempotency", () => {
  it("a retried checkout with the same Idempotency-Key creates nothing new; another body with it → 409", async () => {
    const user = newUser();
    const body = { packageId: "credits_100", provider: "stripe" };
    const first = await checkout(user, body, "retry-me-1");
    const again = await checkout(user, body, "retry-me-1");
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const answer = await first.json();
    expect(await again.json()).toEqual(answer);
    const { orderId } = answer as { orderId: string };
    expect(await sessionsOf(orderId)).toHaveLength(1);
    expect(await countOrders(user)).toBe(1);

    const other = await checkout(
      user,
      { packageId: "credits_cny", provider: "wechatpay", tradeType: "native" },
      "retry-me-1",
    );
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: "idempotency_conflict" });
    expect(await countOrders(user)).toBe(1);
  });

  it("WeChat: the replay answers the same code_url", async () => {
    const user = newUser();
    const body = { packageId: "credits_cny", provider: "wechatpay", tradeType: "native" };
    const first = await (await checkout(user, body, "wx-retry-1")).json();
    expect(await (await checkout(user, body, "wx-retry-1")).json()).toEqual(first);
    expect(await countOrders(user)).toBe(1);
  });
});

describe("failures", () => {
  it("a provider failure fails the order, returns its stock and answers 502 retryable; the retry succeeds", async () => {
    const user = newUser();
    await sandbox("faults", {
      api: [{ kind: "5xx", status: 503, count: 1, pathPrefix: "/v1/checkout/sessions" }],
    });
    const body = { packageId: "drop_usd", provider: "stripe" };
    const failed = await checkout(user, body, "flaky-1");
    expect(failed.status).toBe(502);
    expect(failed.headers.get("retry-after")).toBe("2");
    expect(await failed.json()).toMatchObject({ error: "provider_failed", retryable: true });
    const rows = await sql<{ status: string }>(
      "select status from payguard.payment_orders where user_id = $1::uuid",
      [user],
    );
    expect(rows).toEqual([{ status: "failed" }]);

    const retried = await checkout(user, body, "flaky-1");
    expect(retried.status).toBe(201);
    const { orderId } = (await retried.json()) as { orderId: string };
    expect(await orderStatus(orderId)).toBe("pending");
    // The one unit of stock is held by the new order now.
    expect((await checkout(newUser(), body)).status).toBe(409);
  });

  it("refuses bad input with a clear 4xx and writes nothing", async () => {
    const user = newUser();
    const token = await userToken(user);
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      call("/api/checkout", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify(body),
      });
    expect((await post({ packageId: "credits_100", provider: "paypal" })).status).toBe(400);
    expect((await post({ packageId: "credits_cny", provider: "wechatpay", tradeType: "jsapi" })).status).toBe(
      400,
    );
    expect((await post({ packageId: "credits_100", provider: "stripe", amountMinor: 1 })).status).toBe(400);
    expect(
      (await post({ packageId: "credits_100", provider: "stripe" }, { "idempotency-key": "" })).status,
    ).toBe(400);
    expect((await post({ packageId: "no_such_package", provider: "stripe" })).status).toBe(404);
    const usdViaWechat = await post({ packageId: "credits_100", provider: "wechatpay", tradeType: "native" });
    expect(usdViaWechat.status).toBe(400);
    expect(await usdViaWechat.json()).toMatchObject({ error: "currency_not_supported" });
    const anonymous = await call("/api/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ packageId: "credits_100", provider: "stripe" }),
    });
    expect(anonymous.status).toBe(401);
    expect(await countOrders(user)).toBe(0);
  });
});

describe("Stripe PaymentIntent (Payment Element)", () => {
  beforeAll(async () => {
    await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, bonus_credits, stock_limit)
      values ('drop_usd_pi', 'Launch drop (Payment Element)', 4999, 'USD', 600, 100, 1) on conflict (id) do nothing`);
  });

  it("answers the order, the intent and its client secret; the customer pays in it; the webhook credits once", async () => {
    const user = newUser();
    const response = await intentCheckoutResponse(user);
    expect(response.status).toBe(201);
    const answer = (await response.json()) as IntentCheckout;
    expect(Object.keys(answer).sort()).toEqual(["clientSecret", "orderId", "paymentIntentId"]);
    expect(answer.paymentIntentId).toMatch(/^pi_/);
    const [order] = await sql<{ provider_ref: string }>(
      "select provider_ref from payguard.payment_orders where id = $1",
      [answer.orderId],
    );
    expect(order?.provider_ref).toBe(answer.paymentIntentId);
    const { deliveries } = await confirmIntent(answer.paymentIntentId);
    for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await successPage(user, answer.orderId)).toMatchObject({ status: "fulfilled", credits: 100 });
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("a replay answers the same intent; one whose first attempt died asks Stripe again and gets the same one", async () => {
    const user = newUser();
    const first = (await (await intentCheckoutResponse(user, "pi-retry-1")).json()) as IntentCheckout;
    const replay = await intentCheckoutResponse(user, "pi-retry-1");
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(first);
    // As if the process died between the intent and storing it: the retry asks Stripe again, with the
    // idempotency key derived from the order, and completes the order with the same intent.
    await sql("update payguard.checkout_requests set response = null where user_id = $1::uuid", [user]);
    await sql("update payguard.payment_orders set provider_ref = null where id = $1", [first.orderId]);
    const resumed = await intentCheckoutResponse(user, "pi-retry-1");
    expect(await resumed.json()).toEqual(first);
    const [order] = await sql<{ provider_ref: string }>(
      "select provider_ref from payguard.payment_orders where id = $1",
      [first.orderId],
    );
    expect(order?.provider_ref).toBe(first.paymentIntentId);
    expect(await countOrders(user)).toBe(1);
    // The same key for a Checkout Session body is another request.
    const other = await checkout(user, { packageId: "credits_100", provider: "stripe" }, "pi-retry-1");
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: "idempotency_conflict" });
  });

  it("a provider failure fails the order, returns its stock and answers 502 retryable; the retry succeeds", async () => {
    const user = newUser();
    await sandbox("faults", {
      api: [{ kind: "5xx", status: 503, count: 1, pathPrefix: "/v1/payment_intents" }],
    });
    const body = { ...INTENT_BODY, packageId: "drop_usd_pi" };
    const failed = await intentCheckoutResponse(user, "pi-flaky-1", body);
    expect(failed.status).toBe(502);
    expect(failed.headers.get("retry-after")).toBe("2");
    expect(await failed.json()).toMatchObject({ error: "provider_failed", retryable: true });
    const rows = await sql<{ status: string }>(
      "select status from payguard.payment_orders where user_id = $1::uuid",
      [user],
    );
    expect(rows).toEqual([{ status: "failed" }]);
    const retried = await intentCheckoutResponse(user, "pi-flaky-1", body);
    expect(retried.status).toBe(201);
    const { orderId } = (await retried.json()) as IntentCheckout;
    expect(await orderStatus(orderId)).toBe("pending");
    expect((await checkout(newUser(), body)).status).toBe(409);
  });

  it("refuses an unknown flow, and a flow for WeChat Pay, with 400 and writes nothing", async () => {
    const user = newUser();
    const bodies = [
      { ...INTENT_BODY, flow: "checkout" },
      { packageId: "credits_cny", provider: "wechatpay", tradeType: "native", flow: "payment_intent" },
    ];
    for (const body of bodies) expect((await checkout(user, body)).status).toBe(400);
    expect(await countOrders(user)).toBe(0);
  });
});
