import { readFileSync } from "node:fs";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { sessionFact } from "../../../src/providers/stripe/client.ts";
import { ASYNC_PAYMENT_WAIT_MS } from "../../../src/providers/stripe/normalise.ts";

/** The session of a fixture event, as `checkout.sessions.retrieve` answers it. */
const sessionOf = (name: string, changes: Record<string, unknown> = {}) => {
  const event = JSON.parse(
    readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), "utf8"),
  );
  return { ...event.data.object, ...changes } as Stripe.Checkout.Session;
};

const PAID_AT_S = 1795000100;
/** The success page or reconcile asks an hour after the payment. */
const LATER_MS = (PAID_AT_S + 3600) * 1000;

const intent = (changes: Record<string, unknown> = {}) => ({
  id: "pi_test_1",
  object: "payment_intent",
  created: PAID_AT_S,
  status: "succeeded",
  latest_charge: { id: "ch_test_1", object: "charge", created: PAID_AT_S + 2 },
  ...changes,
});

describe("sessionFact: a retrieved Checkout Session, dated by Stripe's own time", () => {
  it("dates a paid session by its charge, not by when it was asked", () => {
    const session = sessionOf("checkout.session.completed", { payment_intent: intent() });
    expect(sessionFact(session, LATER_MS)).toMatchObject({
      kind: "paid",
      paymentRef: "pi_test_1",
      paidAtMs: (PAID_AT_S + 2) * 1000,
    });
  });

  it("dates it by its PaymentIntent when the charge is not expanded", () => {
    const session = sessionOf("checkout.session.completed", {
      payment_intent: intent({ latest_charge: "ch_test_1" }),
    });
    expect(sessionFact(session, LATER_MS)).toMatchObject({ kind: "paid", paidAtMs: PAID_AT_S * 1000 });
  });

  it("falls back to the time asked only when Stripe's answer carries no payment time", () => {
    const free = sessionOf("checkout.session.completed.no_payment_required");
    expect(sessionFact(free, LATER_MS)).toMatchObject({
      kind: "paid",
      amountMinor: 0,
      discountMinor: 1999,
      paymentRef: "cs_test_a1",
      paidAtMs: LATER_MS,
    });
  });

  it("keeps the stock of a complete, unpaid session whose async payment is processing", () => {
    const session = sessionOf("checkout.session.completed.unpaid", {
      payment_intent: intent({ status: "processing", latest_charge: null }),
    });
    expect(sessionFact(session, LATER_MS)).toEqual({
      kind: "awaiting_payment",
      provider: "stripe",
      paymentRef: "pi_test_1",
      untilMs: PAID_AT_S * 1000 + ASYNC_PAYMENT_WAIT_MS,
    });
  });

  it("fails a complete, unpaid session whose PaymentIntent gave up (async payment failed)", () => {
    for (const status of ["requires_payment_method", "canceled"]) {
      const session = sessionOf("checkout.session.completed.unpaid", {
        payment_intent: intent({ status, latest_charge: null }),
      });
      expect(sessionFact(session, LATER_MS)).toEqual({
        kind: "failed",
        provider: "stripe",
        reason: "async_payment_failed",
      });
    }
  });

  it("answers expired for an expired session and nothing for an open one", () => {
    expect(sessionFact(sessionOf("checkout.session.expired"), LATER_MS)).toEqual({
      kind: "expired",
      provider: "stripe",
    });
    const open = sessionOf("checkout.session.completed", {
      status: "open",
      payment_status: "unpaid",
      payment_intent: null,
    });
    expect(sessionFact(open, LATER_MS)).toBeNull();
  });
});
