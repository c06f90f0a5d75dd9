import { beforeAll, describe, expect, it } from "vitest";
import { userHeaders } from "../support/worker/auth.ts";
import { call, seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";
import { createWechatOrder, setWechatMode, wechatScenario } from "../support/worker/wechat.ts";

beforeAll(seedPackage);

const getOrder = async (orderId: string, userId: string) => {
  const response = await call(`/api/orders/${orderId}`, { headers: await userHeaders(userId) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("success page confirm (GET /api/orders/:id)", () => {
  it("settles a paid Stripe order at once when the redirect beats the webhook", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    const { sessionId } = paid as unknown as { sessionId: string };
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, sessionId]);
    expect(await getOrder(orderId, user)).toEqual({
      status: 200,
      body: { id: orderId, status: "fulfilled", amount_minor: 1999, currency: "USD", credits: 100 },
    });
    expect((await ledgerOf(user)).balance).toBe(100);
    const timeline = await sql<{ source: string }>(
      "select source from payguard.order_events where order_id = $1 and kind = 'paid'",
      [orderId],
    );
    expect(timeline).toEqual([{ source: "confirm" }]);
  });

  it("settles a paid WeChat Pay order by querying out_trade_no", async () => {
    await setWechatMode("public_key");
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990 });
    expect((await getOrder(orderId, user)).body).toMatchObject({ status: "fulfilled", credits: 100 });
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("leaves an unpaid order pending, and answers 404 / 400 for unknown or malformed ids", async () => {
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    expect((await getOrder(orderId, user)).body).toMatchObject({ status: "pending" });
    expect((await getOrder("ord_unknown_000000", user)).status).toBe(404);
    expect((await getOrder("x", user)).status).toBe(400);
  });
});
