/**
 * The PaymentIntent side of the Payment Element flow: what payguard sends to create one, what a retrieved
 * one means (dated by Stripe's own time, as its event would be), and which calls the reconcile makes for an
 * order opened as `pi_…` (retrieve with its charge, cancel to close) against a recording fetch.
 */
import { readFileSync } from "node:fs";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  createStripeClient,
  createStripeProviderApi,
  intentFact,
} from "../../../src/providers/stripe/client.ts";
import { ASYNC_PAYMENT_WAIT_MS } from "../../../src/providers/stripe/normalise.ts";
import {
  paymentIntentIdempotencyKey,
  paymentIntentParams,
} from "../../../src/providers/stripe/payment-intent.ts";
import { pendingOrder, TEST_NOW_MS } from "../../support/node/orders.ts";

const order = pendingOrder({ providerRef: "pi_test_pe1" });
const CREATED_S = 1795000000;
const CHARGED_S = CREATED_S + 90;

/** The intent of a fixture event, as `paymentIntents.retrieve` answers it with `expand[]=latest_charge`. */
function retrieved(name: string, changes: Record<string, unknown> = {}): Stripe.PaymentIntent {
  const event = JSON.parse(
    readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), "utf8"),
  );
  const latest = { id: "ch_test_pe1", object: "charge", created: CHARGED_S };
  return { ...event.data.object, latest_charge: latest, ...changes } as Stripe.PaymentIntent;
}

describe("PaymentIntent for an order", () => {
  it("carries the order's amount and currency, automatic payment methods and server-side metadata", () => {
    expect(paymentIntentParams(order, "100 credits")).toEqual({
      amount: 1999,
      currency: "usd",
      automatic_payment_methods: { enabled: true },
      description: "100 credits",
      metadata: {
        order_id: order.id,
        user_id: order.userId,
        package_id: "credits_100",
        checkout_flow: "payment_intent",
      },
    });
    expect(paymentIntentIdempotencyKey(order.id)).toBe(`payguard-payment-intent-${order.id}`);
  });
});

describe("intentFact: a retrieved PaymentIntent, dated by Stripe's own time", () => {
  it("is paid by the intent, dated by its charge", () => {
    expect(intentFact(retrieved("payment_intent.succeeded"))).toMatchObject({
      kind: "paid",
      paymentRef: "pi_test_pe1",
      providerRef: "pi_test_pe1",
      amountMinor: 1999,
      currency: "USD",
      paidAtMs: CHARGED_S * 1000,
    });
  });

  it("is dated by the intent when the charge is not expanded", () => {
    const intent = retrieved("payment_intent.succeeded", { latest_charge: "ch_test_pe1" });
    expect(intentFact(intent)).toMatchObject({ kind: "paid", paidAtMs: CREATED_S * 1000 });
  });

  it("awaits an async payment from when its charge began, and closes a canceled intent", () => {
    expect(intentFact(retrieved("payment_intent.processing"))).toEqual({
      kind: "awaiting_payment",
      provider: "stripe",
      paymentRef: "pi_test_pe1",
      untilMs: CHARGED_S * 1000 + ASYNC_PAYMENT_WAIT_MS,
    });
    expect(intentFact(retrieved("payment_intent.canceled", { latest_charge: null }))).toEqual({
      kind: "expired",
      provider: "stripe",
    });
  });

  it("decides nothing while the intent awaits the customer, after a declined card too", () => {
    for (const status of ["requires_payment_method", "requires_confirmation", "requires_action"]) {
      expect(intentFact(retrieved("payment_intent.payment_failed", { status }))).toBeNull();
    }
  });

  it("decides nothing for a Checkout Session's intent, even paid", () => {
    expect(intentFact(retrieved("payment_intent.succeeded.checkout_session"))).toBeNull();
  });
});

describe("the provider API for an order opened as a PaymentIntent", () => {
  function recordingStripe(answer: (url: URL, method: string) => { status: number; body: unknown }) {
    const requests: string[] = [];
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      const method = init?.method ?? "GET";
      requests.push(`${method} ${url.pathname}${url.search ? decodeURIComponent(url.search) : ""}`);
      if (init?.body) requests.push(`  ${decodeURIComponent(String(init.body))}`);
      const { status, body } = answer(url, method);
      return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    }) as typeof globalThis.fetch;
    const config = {
      secretKey: "sk_test_x",
      webhookSecrets: [],
      apiBase: "",
      disputePolicy: "claw_back" as const,
    };
    return { api: createStripeProviderApi(createStripeClient(config, fetch)), requests };
  }

  it("retrieves the intent with its charge and states the paid fact", async () => {
    const { api, requests } = recordingStripe(() => ({
      status: 200,
      body: retrieved("payment_intent.succeeded"),
    }));
    const fact = await api.queryOrder(order, TEST_NOW_MS);
    expect(requests).toEqual(["GET /v1/payment_intents/pi_test_pe1?expand[0]=latest_charge"]);
    expect(fact).toEqual({
      ok: true,
      value: expect.objectContaining({ kind: "paid", orderId: order.id, paidAtMs: CHARGED_S * 1000 }),
    });
  });

  it("answers pending for an intent still awaiting a payment method", async () => {
    const { api } = recordingStripe(() => ({
      status: 200,
      body: retrieved("payment_intent.payment_failed"),
    }));
    expect(await api.queryOrder(order, TEST_NOW_MS)).toEqual({
      ok: true,
      value: { kind: "pending", provider: "stripe", orderId: order.id },
    });
  });

  it("closes by cancelling the intent; Stripe's refusal of a paid one is permanent", async () => {
    const refusal = {
      error: {
        type: "invalid_request_error",
        code: "payment_intent_unexpected_state",
        message: "You cannot cancel this PaymentIntent because it has a status of succeeded.",
      },
    };
    const { api, requests } = recordingStripe(() => ({ status: 400, body: refusal }));
    const closed = await api.closeOrder(order, TEST_NOW_MS);
    expect(requests).toEqual([
      "POST /v1/payment_intents/pi_test_pe1/cancel",
      "  cancellation_reason=abandoned",
    ]);
    expect(closed).toMatchObject({
      ok: false,
      error: { kind: "permanent", code: "payment_intent_unexpected_state", status: 400 },
    });
  });
});
