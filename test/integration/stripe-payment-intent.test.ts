/**
 * PaymentIntent checkouts (the Payment Element flow) in workerd against the stand-in and the sandbox:
 * payguard creates the intent, the customer confirms it at the sandbox, its signed `payment_intent.*`
 * webhook settles the order once. A declined card is not the end of the intent; a canceled intent closes
 * the order; the `payment_intent.*` events of an intent a Checkout Session created change nothing, in
 * whatever order they arrive beside the session's own events.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Delivery, seedPackage, sql } from "../support/worker/harness.ts";
import {
  confirmIntent,
  intentCheckout,
  postIntentEvent,
  type SandboxIntent,
  sandboxIntent,
  signedEventOf,
  stripeApi,
} from "../support/worker/payment-intent.ts";
import {
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

const newUser = () => crypto.randomUUID();
const ONE_PURCHASE = { balance: 100, rows: [{ kind: "purchase", credits: 100 }] };
const typeOf = (delivery: Delivery) => (JSON.parse(delivery.body) as { type: string }).type;
const eventIdOf = (delivery: Delivery) => (JSON.parse(delivery.body) as { id: string }).id;

async function deliverAll(deliveries: Delivery[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const delivery of deliveries) statuses.push((await deliverStripe(delivery)).status);
  return statuses;
}

const orderRow = async (orderId: string) =>
  (
    await sql<{ status: string; provider_ref: string | null; payment_ref: string | null }>(
      "select status, provider_ref, payment_ref from payguard.payment_orders where id = $1",
      [orderId],
    )
  )[0];

const inboxRow = async (eventId: string) =>
  (
    await sql<{ status: string; order_id: string | null; last_error: string | null }>(
      "select status, order_id, last_error from payguard.webhook_events where provider = 'stripe' and event_id = $1",
      [eventId],
    )
  )[0];

const paymentsOf = (orderId: string) =>
  sql<{ payment_ref: string; role: string }>(
    "select payment_ref, role from payguard.order_payments where order_id = $1",
    [orderId],
  );

const timelineOf = async (orderId: string) =>
  (
    await sql<{ kind: string }>("select kind from payguard.order_events where order_id = $1 order by id", [
      orderId,
    ])
  ).map((row) => row.kind);

beforeAll(seedPackage);

describe("PaymentIntent checkout: the webhook", () => {
  it("creates the intent from the order with server-side metadata, and stores it as the order's provider_ref", async () => {
    const user = newUser();
    const { orderId, paymentIntentId, clientSecret } = await intentCheckout(user);
    expect(clientSecret).toMatch(new RegExp(`^${paymentIntentId}_secret_`));
    expect(await sandboxIntent(paymentIntentId)).toMatchObject({
      amount: 1999,
      currency: "usd",
      description: "100 credits",
      status: "requires_payment_method",
      metadata: {
        order_id: orderId,
        user_id: user,
        package_id: "credits_100",
        checkout_flow: "payment_intent",
      },
    });
    expect(await orderRow(orderId)).toMatchObject({ status: "pending", provider_ref: paymentIntentId });
  });

  it("payment_intent.succeeded credits once; duplicates, 10 of them at once, credit nothing more", async () => {
    const user = newUser();
    const { orderId, paymentIntentId } = await intentCheckout(user);
    const { deliveries } = await confirmIntent(paymentIntentId);
    expect(deliveries.map(typeOf)).toEqual(["payment_intent.succeeded"]);
    const [succeeded] = deliveries as [Delivery];
    expect(await deliverAll([succeeded])).toEqual([200]);
    expect(await orderRow(orderId)).toMatchObject({ status: "fulfilled", payment_ref: paymentIntentId });
    expect(await ledgerOf(user)).toEqual(ONE_PURCHASE);

    const storm = await Promise.all(Array.from({ length: 10 }, () => deliverStripe(succeeded)));
    expect(storm.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await ledgerOf(user)).toEqual(ONE_PURCHASE);
    expect(await paymentsOf(orderId)).toEqual([{ payment_ref: paymentIntentId, role: "primary" }]);
    expect(await inboxRow(eventIdOf(succeeded))).toMatchObject({ status: "processed", order_id: orderId });
  });

  it("a declined card leaves the order pending (recorded under it); the next card in the same intent credits once", async () => {
    const user = newUser();
    const { orderId, paymentIntentId } = await intentCheckout(user);
    const declined = await confirmIntent(paymentIntentId, "declined");
    // payguard does not require the type (events.list's 20 types are spent): an endpoint sends it if asked to.
    expect(declined.deliveries).toEqual([]);
    const failed = await signedEventOf("payment_intent.payment_failed", paymentIntentId);
    expect(await deliverAll([failed])).toEqual([200]);
    expect(await orderStatus(orderId)).toBe("pending");
    expect((await ledgerOf(user)).rows).toEqual([]);
    const failedRow = await inboxRow(eventIdOf(failed));
    expect(failedRow).toMatchObject({ status: "ignored", order_id: orderId });
    expect(failedRow?.last_error).toMatch(/declined .*not final/);

    const paid = await confirmIntent(paymentIntentId);
    expect(await deliverAll(paid.deliveries)).toEqual([200]);
    // The declined attempt's redelivery after the payment changes nothing either.
    expect(await deliverAll([failed, ...paid.deliveries])).toEqual([200, 200]);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect(await ledgerOf(user)).toEqual(ONE_PURCHASE);
  });

  it("payment_intent.canceled closes the order as a session's expiry does", async () => {
    const user = newUser();
    const { orderId, paymentIntentId } = await intentCheckout(user);
    await stripeApi(`payment_intents/${paymentIntentId}/cancel`, "POST");
    const canceled = await signedEventOf("payment_intent.canceled", paymentIntentId);
    expect(await deliverAll([canceled, canceled])).toEqual([200, 200]);
    expect(await orderStatus(orderId)).toBe("expired");
    expect((await ledgerOf(user)).rows).toEqual([]);
  });

  it("a refund of the intent's payment claws back once (the sandbox finds the order by metadata)", async () => {
    const user = newUser();
    const { orderId, paymentIntentId } = await intentCheckout(user);
    expect(await deliverAll((await confirmIntent(paymentIntentId)).deliveries)).toEqual([200]);
    const refunded = await stripeScenario("refund", { orderId });
    expect(await deliverAll([...refunded.deliveries, ...refunded.deliveries])).toEqual(
      Array(refunded.deliveries.length * 2).fill(200),
    );
    expect(await orderStatus(orderId)).toBe("refunded");
    expect(await ledgerOf(user)).toMatchObject({ balance: 0 });
  });
});

describe("PaymentIntent events of a Checkout Session's intent change nothing", () => {
  /**
   * A Checkout order paid at the sandbox, its session stored as the order's provider_ref as checkout
   * stores it: its session's webhook handed back, and its intent.
   */
  async function paidCheckout() {
    const user = newUser();
    const orderId = await createOrder(user);
    const paid = (await stripeScenario("pay", {
      orderId,
      metadata: { user_id: user, package_id: "credits_100" },
    })) as Awaited<ReturnType<typeof stripeScenario>> & { sessionId: string; paymentIntentId: string };
    await sql("update payguard.payment_orders set provider_ref = $2 where id = $1", [
      orderId,
      paid.sessionId,
    ]);
    const intent = await sandboxIntent(paid.paymentIntentId);
    // What Stripe's own payment_intent.* events would carry: the order in metadata, no flow of payguard's.
    expect(intent.metadata).toMatchObject({ order_id: orderId });
    expect(intent.metadata).not.toHaveProperty("checkout_flow");
    return { user, orderId, sessionDeliveries: paid.deliveries, intent };
  }

  const intentEvents = async (intent: SandboxIntent) => [
    await postIntentEvent("payment_intent.processing", intent, { status: "processing", amount_received: 0 }),
    await postIntentEvent("payment_intent.payment_failed", intent, {
      status: "requires_payment_method",
      amount_received: 0,
    }),
    await postIntentEvent("payment_intent.succeeded", intent),
    await postIntentEvent("payment_intent.canceled", intent, { status: "canceled", amount_received: 0 }),
  ];

  it("before the session's events: the order stays pending until the session pays it, credited once", async () => {
    const { user, orderId, sessionDeliveries, intent } = await paidCheckout();
    expect((await intentEvents(intent)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await orderStatus(orderId)).toBe("pending");
    expect(await paymentsOf(orderId)).toEqual([]);
    expect(await timelineOf(orderId)).toEqual(["created"]);

    expect(await deliverAll(sessionDeliveries)).toEqual(sessionDeliveries.map(() => 200));
    expect(await orderRow(orderId)).toMatchObject({ status: "fulfilled", payment_ref: intent.id });
    expect(await ledgerOf(user)).toEqual(ONE_PURCHASE);
    expect(await paymentsOf(orderId)).toEqual([{ payment_ref: intent.id, role: "primary" }]);
  });

  it("after the session's events: still fulfilled once, no review, no second payment", async () => {
    const { user, orderId, sessionDeliveries, intent } = await paidCheckout();
    expect(await deliverAll(sessionDeliveries)).toEqual(sessionDeliveries.map(() => 200));
    expect((await intentEvents(intent)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect(await ledgerOf(user)).toEqual(ONE_PURCHASE);
    expect(await paymentsOf(orderId)).toEqual([{ payment_ref: intent.id, role: "primary" }]);
    expect(await timelineOf(orderId)).toEqual(["created", "paid"]);
    const rows = await sql<{ event_type: string; status: string }>(
      `select event_type, status from payguard.webhook_events
        where provider = 'stripe' and order_id = $1 and event_type like 'payment_intent.%'`,
      [orderId],
    );
    expect(new Set(rows.map((row) => row.event_type))).toEqual(
      new Set([
        "payment_intent.processing",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "payment_intent.canceled",
      ]),
    );
    expect(rows.every((row) => row.status === "ignored")).toBe(true);
  });
});
