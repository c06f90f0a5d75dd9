import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { STRIPE_EVENT_TYPES } from "../../../src/providers/stripe/event-types.ts";
import {
  ASYNC_PAYMENT_WAIT_MS,
  planStripeEvent,
  readStripeEvent,
  type StripeEventInput,
} from "../../../src/providers/stripe/normalise.ts";

const fixture = (name: string): StripeEventInput =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), "utf8"));

const ORDER_ID = "ord_0123456789abcdef01234567";
const SESSION = { by: "session", sessionId: "cs_test_a1", claimedOrderId: ORDER_ID };

describe("planStripeEvent", () => {
  it("turns a paid checkout.session.completed into one paid fact located by its stored session first", () => {
    const plan = planStripeEvent(fixture("checkout.session.completed"));
    expect(plan).toEqual({
      action: "settle",
      locator: SESSION,
      facts: [
        {
          kind: "paid",
          provider: "stripe",
          paymentRef: "pi_test_1",
          amountMinor: 1999,
          discountMinor: 0,
          currency: "USD",
          paidAtMs: 1795000100_000,
          providerRef: "cs_test_a1",
          metadata: expect.objectContaining({
            userId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            packageId: "credits_100",
          }),
        },
      ],
    });
  });

  it("fills discountMinor from the session's total_details.amount_discount", () => {
    const event = fixture("checkout.session.completed");
    const session = event.data.object as Record<string, unknown>;
    session.amount_total = 1499;
    session.total_details = { amount_discount: 500, amount_shipping: 0, amount_tax: 0 };
    const plan = planStripeEvent(event);
    expect(plan.action === "settle" && plan.facts[0]).toMatchObject({
      amountMinor: 1499,
      discountMinor: 500,
    });
  });

  it("passes client_reference_id and metadata.order_id as claims, never as the order's identity", () => {
    const event = fixture("checkout.session.completed");
    const session = event.data.object as Record<string, unknown>;
    session.client_reference_id = "ord_someone_else_0000";
    const plan = planStripeEvent(event);
    expect(plan.action === "settle" && plan.facts[0]).toMatchObject({
      providerRef: "cs_test_a1",
      metadata: { clientReferenceId: "ord_someone_else_0000" },
    });
  });

  it("turns refund.failed (and a refund updated to failed) into a refund_failed fact keyed by refund id", () => {
    const event = fixture("refund.created");
    event.type = "refund.failed";
    (event.data.object as Record<string, unknown>).status = "failed";
    expect(planStripeEvent(event)).toMatchObject({
      action: "settle",
      facts: [{ kind: "refund_failed", refundRef: "re_test_1", paymentRef: "pi_test_1" }],
    });
    event.type = "refund.updated";
    expect(planStripeEvent(event)).toMatchObject({ facts: [{ kind: "refund_failed" }] });
  });

  it("keeps the order's stock while an async payment is in flight: completed unpaid → awaiting_payment", () => {
    expect(planStripeEvent(fixture("checkout.session.completed.unpaid"))).toEqual({
      action: "settle",
      locator: SESSION,
      facts: [
        {
          kind: "awaiting_payment",
          provider: "stripe",
          paymentRef: "pi_test_1",
          // From the completion (the event's created), the same on every path and every redelivery.
          untilMs: 1795000100_000 + ASYNC_PAYMENT_WAIT_MS,
        },
      ],
    });
  });

  it("waits at least Stripe's documented 14 business days for an async result", () => {
    const businessDaysMs = 14 * 24 * 60 * 60 * 1000;
    expect(ASYNC_PAYMENT_WAIT_MS).toBeGreaterThanOrEqual((businessDaysMs * 7) / 5);
  });

  it("turns a session that needed no payment (100 % promotion code) into a paid fact of 0 with its discount", () => {
    expect(planStripeEvent(fixture("checkout.session.completed.no_payment_required"))).toEqual({
      action: "settle",
      locator: SESSION,
      facts: [
        {
          kind: "paid",
          provider: "stripe",
          // No PaymentIntent exists for a no-cost order: the session is the payment.
          paymentRef: "cs_test_a1",
          amountMinor: 0,
          discountMinor: 1999,
          currency: "USD",
          paidAtMs: 1795000100_000,
          providerRef: "cs_test_a1",
          metadata: expect.objectContaining({ packageId: "credits_100" }),
        },
      ],
    });
    const withIntent = fixture("checkout.session.completed.no_payment_required");
    (withIntent.data.object as Record<string, unknown>).payment_intent = "pi_test_free";
    const plan = planStripeEvent(withIntent);
    expect(plan.action === "settle" && plan.facts[0]).toMatchObject({ paymentRef: "pi_test_free" });
  });

  it("gives the async success the same payment reference as the completed event", () => {
    const plan = planStripeEvent(fixture("checkout.session.async_payment_succeeded"));
    expect(plan.action === "settle" && plan.facts[0]).toMatchObject({
      kind: "paid",
      paymentRef: "pi_test_1",
    });
  });

  it("maps async failure and expiry to failed and expired facts", () => {
    expect(planStripeEvent(fixture("checkout.session.async_payment_failed"))).toMatchObject({
      action: "settle",
      facts: [{ kind: "failed", reason: "async_payment_failed" }],
    });
    expect(planStripeEvent(fixture("checkout.session.expired"))).toMatchObject({
      action: "settle",
      facts: [{ kind: "expired" }],
    });
  });

  it("falls back to the session id when no order id travels with the session", () => {
    const event = fixture("checkout.session.completed");
    const session = event.data.object as Record<string, unknown>;
    session.client_reference_id = null;
    session.metadata = {};
    const plan = planStripeEvent(event);
    expect(plan.action === "settle" && plan.locator).toEqual({
      by: "session",
      sessionId: "cs_test_a1",
      claimedOrderId: null,
    });
  });

  it("reads every succeeded refund of charge.refunded, keyed by refund id", () => {
    expect(planStripeEvent(fixture("charge.refunded"))).toEqual({
      action: "settle",
      locator: { by: "payment_intent", paymentIntentId: "pi_test_1", claimedOrderId: ORDER_ID },
      facts: [
        {
          kind: "refunded",
          provider: "stripe",
          paymentRef: "pi_test_1",
          refundRef: "re_test_1",
          amountMinor: 500,
          currency: "USD",
          refundedAtMs: 1795000200_000,
        },
      ],
    });
  });

  it("locates refund.* events by payment intent, the same refund id as charge.refunded", () => {
    const plan = planStripeEvent(fixture("refund.created"));
    expect(plan).toMatchObject({
      action: "settle",
      locator: { by: "payment_intent", paymentIntentId: "pi_test_1" },
      facts: [{ kind: "refunded", refundRef: "re_test_1", amountMinor: 500 }],
    });
  });

  it("ignores pending refunds, unknown types and malformed objects", () => {
    expect(planStripeEvent(fixture("refund.updated.pending"))).toEqual({
      action: "ignore",
      reason: "refund status pending",
    });
    expect(planStripeEvent(fixture("customer.created"))).toEqual({
      action: "ignore",
      reason: "unhandled type customer.created",
    });
    const broken = fixture("checkout.session.completed");
    (broken.data.object as Record<string, unknown>).amount_total = "1999";
    expect(planStripeEvent(broken)).toEqual({
      action: "ignore",
      reason: "malformed: paid session without amount",
    });
  });
  describe("charge.dispute.*", () => {
    const disputeEvent = (type: string, status: string): StripeEventInput => {
      const event = fixture("charge.dispute.created");
      event.type = type;
      (event.data.object as Record<string, unknown>).status = status;
      return event;
    };

    it("turns charge.dispute.created into one disputed fact located by its payment intent", () => {
      expect(planStripeEvent(fixture("charge.dispute.created"))).toEqual({
        action: "settle",
        locator: { by: "payment_intent", paymentIntentId: "pi_test_1", claimedOrderId: null },
        facts: [
          {
            kind: "disputed",
            provider: "stripe",
            paymentRef: "pi_test_1",
            disputeRef: "dp_test_1",
            amountMinor: 1999,
            currency: "USD",
            state: "open",
            policy: "claw_back",
          },
        ],
      });
    });

    it.each([
      ["charge.dispute.created", "warning_needs_response", "open"],
      ["charge.dispute.funds_withdrawn", "needs_response", "open"],
      ["charge.dispute.updated", "under_review", "open"],
      ["charge.dispute.updated", "warning_under_review", "open"],
      ["charge.dispute.updated", "appeal_under_review", "open"],
      ["charge.dispute.updated", "a_status_stripe_adds_later", "open"],
      ["charge.dispute.closed", "won", "won"],
      ["charge.dispute.closed", "warning_closed", "won"],
      ["charge.dispute.closed", "prevented", "won"],
      ["charge.dispute.funds_reinstated", "won", "won"],
      ["charge.dispute.closed", "lost", "lost"],
    ])("%s with status %s → one disputed fact, state %s, keyed by the dispute id", (type, status, state) => {
      const plan = planStripeEvent(disputeEvent(type, status));
      expect(plan.action === "settle" && plan.facts).toEqual([
        expect.objectContaining({ kind: "disputed", disputeRef: "dp_test_1", state }),
      ]);
    });

    it("is subscribed to by the webhook endpoint check and listed by the backfill, each type", () => {
      const types = [
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
      ];
      expect(STRIPE_EVENT_TYPES).toEqual(expect.arrayContaining(types));
      for (const type of types)
        expect(planStripeEvent(disputeEvent(type, "needs_response")).action).toBe("settle");
    });

    it("carries the deployment's dispute policy (default claw_back)", () => {
      const plan = planStripeEvent(fixture("charge.dispute.created"), "notify");
      expect(plan.action === "settle" && plan.facts[0]).toMatchObject({ policy: "notify" });
    });

    it("ignores a dispute without a payment intent, id or amount", () => {
      for (const field of ["payment_intent", "id", "amount"]) {
        const event = fixture("charge.dispute.created");
        (event.data.object as Record<string, unknown>)[field] = null;
        expect(planStripeEvent(event)).toEqual({
          action: "ignore",
          reason: "malformed: dispute without id, amount or payment intent",
        });
      }
    });
  });
});

describe("readStripeEvent", () => {
  const event = fixture("checkout.session.completed");
  const without = (changes: Record<string, unknown>) => ({ ...event, ...changes });

  it("reads a signed body with an id, a type, a creation time and a data.object", () => {
    const { id, type, created, data } = event;
    expect(readStripeEvent(event)).toEqual({ ok: true, event: { id, type, created, data } });
  });

  it.each([
    ["no data", without({ data: undefined }), "malformed: no data"],
    ["data a string", without({ data: "x" }), "malformed: no data"],
    ["data an array", without({ data: [event.data.object] }), "malformed: no data"],
    ["no data.object", without({ data: {} }), "malformed: no data.object"],
    ["data.object null", without({ data: { object: null } }), "malformed: no data.object"],
    ["data.object a number", without({ data: { object: 7 } }), "malformed: no data.object"],
    ["data.object an array", without({ data: { object: [] } }), "malformed: no data.object"],
    ["no created", without({ created: "yesterday" }), "malformed: no created"],
  ])("names an event with %s, keeping its id and type", (_name, body, reason) => {
    expect(readStripeEvent(body)).toEqual({
      ok: false,
      unusable: { id: event.id, type: event.type, reason },
    });
  });

  it("names what has no id or type, and a thin event", () => {
    expect(readStripeEvent(without({ id: 42 }))).toEqual({
      ok: false,
      unusable: { id: null, type: event.type, reason: "malformed: no id" },
    });
    expect(readStripeEvent(without({ type: "" }))).toEqual({
      ok: false,
      unusable: { id: event.id, type: null, reason: "malformed: no type" },
    });
    expect(readStripeEvent({ id: "evt_thin", object: "v2.core.event", type: "v1.x" })).toEqual({
      ok: false,
      unusable: { id: "evt_thin", type: "v1.x", reason: "thin event (v2.core.event): no data.object" },
    });
    for (const body of [null, 7, "evt", [event]])
      expect(readStripeEvent(body)).toEqual({
        ok: false,
        unusable: { id: null, type: null, reason: "malformed: not a JSON object" },
      });
  });
});
