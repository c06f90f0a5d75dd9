// The events of a one-off Checkout Session's PaymentIntent, through the real stripe-node client: created,
// then charged and succeeded before the session completes; processing for an async method, settled later.
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { allOf, clientFor, controlOf, eventsIn } from "../testing/stripe-billing.ts";

let sandbox: Sandbox;
let stripe: Stripe;
const control = (path: string, body?: unknown) => controlOf(sandbox, path, body);
const typesOf = async (ids: string[]) => (await eventsIn(stripe, ids)).map((event) => event.type);

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 49 });
  stripe = clientFor(sandbox);
});
afterAll(() => sandbox.close());

describe("a one-off Checkout Session's PaymentIntent", () => {
  const newSession = (orderId: string) =>
    stripe.checkout.sessions.create({
      mode: "payment",
      client_reference_id: orderId,
      line_items: [
        {
          quantity: 1,
          price_data: { currency: "usd", unit_amount: 1999, product_data: { name: "Credits" } },
        },
      ],
      payment_intent_data: { metadata: { order_id: orderId } },
    });

  it("emits payment_intent.created, charge.succeeded, payment_intent.succeeded, then the session's completion", async () => {
    const session = await newSession("ord_pi_ev_1");
    const paid = await control("stripe/pay", { orderId: "ord_pi_ev_1", sessionId: session.id });
    expect(await typesOf(allOf(paid))).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
      "checkout.session.completed",
    ]);
    expect(await typesOf(paid.eventIds)).toEqual(["checkout.session.completed"]);
    const [created, , succeeded] = await eventsIn(stripe, paid.paymentEventIds);
    expect(created?.data.object).toMatchObject({
      id: paid.paymentIntentId,
      status: "requires_payment_method",
    });
    expect(succeeded?.data.object).toMatchObject({
      id: paid.paymentIntentId,
      status: "succeeded",
      amount_received: 1999,
      metadata: { order_id: "ord_pi_ev_1" },
    });
    expect(paid.deliveries.map((d) => d.eventId)).toEqual(paid.eventIds);
    for (const delivery of paid.paymentDeliveries) expect(paid.paymentEventIds).toContain(delivery.eventId);
  });

  it("emits payment_intent.processing for an async method, and the charge and success when it settles", async () => {
    await newSession("ord_pi_ev_2");
    const pending = await control("stripe/pay", { orderId: "ord_pi_ev_2", async: "pending" });
    expect(await typesOf(allOf(pending))).toEqual([
      "payment_intent.created",
      "payment_intent.processing",
      "checkout.session.completed",
    ]);
    const settled = await control("stripe/pay/finish", { orderId: "ord_pi_ev_2", status: "succeeded" });
    expect(await typesOf(allOf(settled))).toEqual([
      "charge.succeeded",
      "payment_intent.succeeded",
      "checkout.session.async_payment_succeeded",
    ]);
    await newSession("ord_pi_ev_3");
    await control("stripe/pay", { orderId: "ord_pi_ev_3", async: "pending" });
    const failed = await control("stripe/pay/finish", { orderId: "ord_pi_ev_3", status: "failed" });
    expect(await typesOf(allOf(failed))).toEqual([
      "payment_intent.payment_failed",
      "checkout.session.async_payment_failed",
    ]);
  });
});
