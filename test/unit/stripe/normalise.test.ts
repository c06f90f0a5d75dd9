import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planStripeEvent, type StripeEventInput } from "../../../src/providers/stripe/normalise.ts";

const fixture = (name: string): StripeEventInput =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), "utf8"));

const ORDER = { by: "order_id", orderId: "ord_0123456789abcdef01234567", sessionId: "cs_test_a1" };

describe("planStripeEvent", () => {
  it("turns a paid checkout.session.completed into one paid fact with upper-case currency and metadata", () => {
    expect(planStripeEvent(fixture("checkout.session.completed"))).toEqual({
      action: "settle",
      locator: ORDER,
      facts: [
        {
          kind: "paid",
          provider: "stripe",
          paymentRef: "pi_test_1",
          amountMinor: 1999,
          currency: "USD",
          paidAtMs: 1795000100_000,
          metadata: { userId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", packageId: "credits_100" },
        },
      ],
    });
  });

  it("waits for the async result when the session completed unpaid", () => {
    expect(planStripeEvent(fixture("checkout.session.completed.unpaid"))).toEqual({
      action: "ignore",
      reason: "payment not completed yet",
    });
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
    expect(plan.action === "settle" && plan.locator).toEqual({ by: "session", sessionId: "cs_test_a1" });
  });

  it("reads every succeeded refund of charge.refunded, keyed by refund id", () => {
    expect(planStripeEvent(fixture("charge.refunded"))).toEqual({
      action: "settle",
      locator: { by: "order_id", orderId: "ord_0123456789abcdef01234567" },
      facts: [
        {
          kind: "refunded",
          provider: "stripe",
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
});
