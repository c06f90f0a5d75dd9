/**
 * Helpers for the Payment Element flow in integration tests: a PaymentIntent checkout through the worker,
 * the customer's confirmation at the sandbox (its webhook handed back, not sent), the intent as the
 * sandbox's API answers it, and signed `payment_intent.*` events for an intent payguard did not create.
 */
import { inject } from "vitest";
import { userToken } from "./auth.ts";
import { call, type Delivery, sandbox } from "./harness.ts";
import { type ControlAnswer, postSignedStripe, stripeScenario } from "./stripe.ts";

export interface IntentCheckout {
  orderId: string;
  paymentIntentId: string;
  clientSecret: string;
}

export const INTENT_BODY = { packageId: "credits_100", provider: "stripe", flow: "payment_intent" };

export async function intentCheckoutResponse(user: string, key?: string, body: unknown = INTENT_BODY) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${await userToken(user)}`,
  };
  if (key) headers["idempotency-key"] = key;
  return call("/api/checkout", { method: "POST", headers, body: JSON.stringify(body) });
}

/** `POST /api/checkout` with `flow: "payment_intent"`; fails the test unless it answers 201. */
export async function intentCheckout(user: string): Promise<IntentCheckout> {
  const response = await intentCheckoutResponse(user);
  if (response.status !== 201)
    throw new Error(`checkout answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as IntentCheckout;
}

/** The customer confirms on the page: paid, or the card declined. The webhook is handed back. */
export function confirmIntent(
  paymentIntentId: string,
  outcome: "succeeded" | "declined" = "succeeded",
): Promise<ControlAnswer> {
  return stripeScenario("payment_intent/confirm", { paymentIntentId, outcome });
}

export interface SandboxIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_received: number;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
  status: string;
  latest_charge: string | null;
}

/** Stripe's API call of the sandbox, with the worker's secret key. */
export async function stripeApi<T>(path: string, method = "GET"): Promise<T> {
  const response = await fetch(`${inject("sandboxUrl")}/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${inject("workerBindings").STRIPE_SECRET_KEY}` },
  });
  if (!response.ok) throw new Error(`stripe ${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export const sandboxIntent = (id: string) => stripeApi<SandboxIntent>(`payment_intents/${id}`);

/** The sandbox's newest event of `type` about object `objectId`, signed as Stripe would deliver it. */
export async function signedEventOf(type: string, objectId: string): Promise<Delivery> {
  const { data } = await stripeApi<{ data: Array<{ id: string; data: { object: { id: string } } }> }>(
    `events?type=${type}&limit=100`,
  );
  const event = data.find((e) => e.data.object.id === objectId);
  if (!event) throw new Error(`no ${type} event for ${objectId}`);
  return (await sandbox<{ delivery: Delivery }>("stripe/sign", { eventId: event.id })).delivery;
}

/** Posts a signed `payment_intent.*` event about `intent` (Stripe sends these for Checkout's intents too). */
export function postIntentEvent(type: string, intent: SandboxIntent, changes: Partial<SandboxIntent> = {}) {
  return postSignedStripe({
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object: { ...intent, ...changes } },
  });
}
