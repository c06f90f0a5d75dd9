/**
 * Planning of `payment_intent.*` events: what an intent payguard created for the Payment Element means,
 * and that an intent a Checkout Session created means nothing (its session's events settle the order).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { STRIPE_EVENT_TYPES } from "../../../src/providers/stripe/event-types.ts";
import {
  ASYNC_PAYMENT_WAIT_MS,
  planStripeEvent,
  type StripeEventInput,
} from "../../../src/providers/stripe/normalise.ts";

const fixture = (name: string): StripeEventInput =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), "utf8"));

const ORDER_ID = "ord_0123456789abcdef01234567";
const CREATED_MS = 1795000100_000;
const INTENT = { by: "intent", paymentIntentId: "pi_test_pe1", claimedOrderId: ORDER_ID };
/** `events.list` takes at most this many `types[]` (the backfill and the health check list them all). */
const EVENTS_LIST_TYPES_MAX = 20;

const intentOf = (event: StripeEventInput) => event.data.object as Record<string, unknown>;

describe("planStripeEvent: PaymentIntents payguard created", () => {
  it("turns payment_intent.succeeded into one paid fact, the intent as payment and provider object", () => {
    expect(planStripeEvent(fixture("payment_intent.succeeded"))).toEqual({
      action: "settle",
      locator: INTENT,
      facts: [
        {
          kind: "paid",
          provider: "stripe",
          paymentRef: "pi_test_pe1",
          amountMinor: 1999,
          discountMinor: 0,
          currency: "USD",
          paidAtMs: CREATED_MS,
          providerRef: "pi_test_pe1",
          metadata: {
            orderId: ORDER_ID,
            userId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            packageId: "credits_100",
          },
        },
      ],
    });
  });

  it("takes the amount the intent received, so a partial amount is the settlement's mismatch", () => {
    const event = fixture("payment_intent.succeeded");
    intentOf(event).amount_received = 999;
    const plan = planStripeEvent(event);
    expect(plan.action === "settle" && plan.facts[0]).toMatchObject({ kind: "paid", amountMinor: 999 });
  });

  it("ignores a succeeded intent without an amount or currency", () => {
    for (const field of ["amount_received", "currency"]) {
      const event = fixture("payment_intent.succeeded");
      intentOf(event)[field] = null;
      expect(planStripeEvent(event)).toMatchObject({
        action: "ignore",
        reason: "malformed: succeeded payment intent without amount",
      });
    }
  });

  it("closes the order on payment_intent.canceled, as a session's expiry does", () => {
    expect(planStripeEvent(fixture("payment_intent.canceled"))).toEqual({
      action: "settle",
      locator: INTENT,
      facts: [{ kind: "expired", provider: "stripe" }],
    });
  });

  it("keeps the order's stock while an async payment is processing, from when it began", () => {
    expect(planStripeEvent(fixture("payment_intent.processing"))).toEqual({
      action: "settle",
      locator: INTENT,
      facts: [
        {
          kind: "awaiting_payment",
          provider: "stripe",
          paymentRef: "pi_test_pe1",
          untilMs: CREATED_MS + ASYNC_PAYMENT_WAIT_MS,
        },
      ],
    });
  });

  it("records a declined attempt under its order and changes nothing: the customer may pay again in it", () => {
    const plan = planStripeEvent(fixture("payment_intent.payment_failed"));
    expect(plan).toEqual({
      action: "ignore",
      reason: expect.stringContaining("insufficient_funds"),
      claimedOrderId: ORDER_ID,
    });
    expect(plan.action === "ignore" && plan.reason).toMatch(/not final/);
  });

  it("ignores payment_intent.* types it does not act on, filed under their order", () => {
    const event = { ...fixture("payment_intent.succeeded"), type: "payment_intent.created" };
    expect(planStripeEvent(event)).toEqual({
      action: "ignore",
      reason: "unhandled type payment_intent.created",
      claimedOrderId: ORDER_ID,
    });
  });

  it("ignores an intent without an id", () => {
    const event = fixture("payment_intent.succeeded");
    intentOf(event).id = null;
    expect(planStripeEvent(event)).toEqual({
      action: "ignore",
      reason: "malformed: payment intent without id",
    });
  });

  it("subscribes the webhook endpoint check and the backfill to each type that changes an order, within 20", () => {
    const types = ["payment_intent.succeeded", "payment_intent.processing", "payment_intent.canceled"];
    expect(STRIPE_EVENT_TYPES).toEqual(expect.arrayContaining(types));
    // A declined attempt changes nothing: read when it comes, not required (the 20 types are spent).
    expect(STRIPE_EVENT_TYPES).not.toContain("payment_intent.payment_failed");
    expect(STRIPE_EVENT_TYPES.length).toBeLessThanOrEqual(EVENTS_LIST_TYPES_MAX);
  });
});

describe("planStripeEvent: PaymentIntents payguard did not create", () => {
  const checkoutTypes = [
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
  ];

  it.each(checkoutTypes)("%s of a Checkout Session's intent changes nothing, whatever its state", (type) => {
    const event = { ...fixture("payment_intent.succeeded.checkout_session"), type };
    expect(planStripeEvent(event)).toEqual({
      action: "ignore",
      reason: "payment intent pi_test_1 of a Checkout Session: the session's events settle it",
      claimedOrderId: ORDER_ID,
    });
  });

  it("changes nothing for an intent whose flow is anything but payguard's own", () => {
    const event = fixture("payment_intent.succeeded");
    (intentOf(event).metadata as Record<string, string>).checkout_flow = "checkout_session";
    expect(planStripeEvent(event)).toMatchObject({ action: "ignore", claimedOrderId: ORDER_ID });
  });

  it("changes nothing for an intent the app made itself, naming no order", () => {
    const event = fixture("payment_intent.succeeded");
    intentOf(event).metadata = {};
    expect(planStripeEvent(event)).toEqual({
      action: "ignore",
      reason: "payment intent pi_test_pe1 was not created by payguard",
      claimedOrderId: null,
    });
  });
});
