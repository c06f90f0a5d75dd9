// Stripe scenario steps that tests drive through `/_control/stripe/*`: a customer pays (at once or by
// an async method), walks away, a session is expired, a merchant refunds. Refusals (no such order,
// nothing to refund) are values, never exceptions.
import type { QueuedDelivery } from "../http.ts";
import { completeSession, createSession, expireSession, settleAsyncPayment } from "./checkout.ts";
import { type EmittedEvent, signStripePayload } from "./events.ts";
import { createRefund, settleRefund } from "./refunds.ts";
import type { StripeContext } from "./state.ts";
import type { CheckoutSession, Metadata } from "./types.ts";

export const PAY_AMOUNT_DEFAULT_MINOR = 1999;
export const PAY_CURRENCY_DEFAULT = "usd";

export interface PayInput {
  orderId: string;
  sessionId?: string;
  amountMinor?: number;
  currency?: string;
  metadata?: Metadata;
  async?: "succeeded" | "failed";
  /** The customer pays at the moment the merchant's expire call arrives: nothing happens until then. */
  atExpire?: boolean;
}

export type ScenarioResult<T> = ({ ok: true } & T) | { ok: false; status: number; error: string };

export const eventIds = (emitted: EmittedEvent[]): string[] => emitted.map((entry) => entry.event.id);

const sessionsOf = (context: StripeContext, orderId: string): CheckoutSession[] =>
  [...context.state.sessions.values()].filter((session) => session.client_reference_id === orderId);

function openSession(context: StripeContext, input: PayInput): CheckoutSession | null {
  if (input.sessionId) return context.state.sessions.get(input.sessionId) ?? null;
  const open = sessionsOf(context, input.orderId).filter((session) => session.status === "open");
  if (open.length > 0) return open[open.length - 1] ?? null;
  const metadata = { order_id: input.orderId, ...input.metadata };
  return createSession(context, {
    amountMinor: input.amountMinor ?? PAY_AMOUNT_DEFAULT_MINOR,
    currency: (input.currency ?? PAY_CURRENCY_DEFAULT).toLowerCase(),
    clientReferenceId: input.orderId,
    metadata,
    intentMetadata: metadata,
    successUrl: null,
    cancelUrl: null,
    customerEmail: null,
  });
}

export function pay(
  context: StripeContext,
  input: PayInput,
): ScenarioResult<{ sessionId: string; paymentIntentId: string; eventIds: string[] }> {
  const session = openSession(context, input);
  if (!session) return { ok: false, status: 404, error: `no such session ${input.sessionId}` };
  if (session.status !== "open")
    return { ok: false, status: 409, error: `session ${session.id} is ${session.status}` };
  if (input.atExpire) {
    context.state.payAtExpire.add(session.id);
    return { ok: true, sessionId: session.id, paymentIntentId: "", eventIds: [] };
  }
  const emitted = [completeSession(context, session, input.async !== undefined)];
  if (input.async) emitted.push(settleAsyncPayment(context, session, input.async));
  return {
    ok: true,
    sessionId: session.id,
    paymentIntentId: session.payment_intent ?? "",
    eventIds: eventIds(emitted),
  };
}

/** The customer opened Checkout and walked away: the session stays open until it expires by itself. */
export function abandon(
  context: StripeContext,
  input: PayInput,
): ScenarioResult<{ sessionId: string; expiresAt: number; eventIds: string[] }> {
  const session = openSession(context, input);
  if (session?.status !== "open") return { ok: false, status: 409, error: "no open session to abandon" };
  return { ok: true, sessionId: session.id, expiresAt: session.expires_at, eventIds: [] };
}

export function expire(
  context: StripeContext,
  input: {
    orderId?: string;
    sessionId?: string;
  },
): ScenarioResult<{ sessionId: string; eventIds: string[] }> {
  const session = input.sessionId
    ? context.state.sessions.get(input.sessionId)
    : sessionsOf(context, input.orderId ?? "").find((candidate) => candidate.status === "open");
  if (session?.status !== "open") return { ok: false, status: 409, error: "no open session to expire" };
  return { ok: true, sessionId: session.id, eventIds: eventIds([expireSession(context, session)]) };
}

export function refund(
  context: StripeContext,
  input: {
    orderId: string;
    amountMinor?: number;
    status?: "succeeded" | "pending";
  },
): ScenarioResult<{ refundId: string; eventIds: string[] }> {
  const paid = sessionsOf(context, input.orderId).find((session) => session.payment_status === "paid");
  if (!paid?.payment_intent)
    return { ok: false, status: 404, error: `order ${input.orderId} has no paid session` };
  const result = createRefund(context, {
    paymentIntentId: paid.payment_intent,
    amountMinor: input.amountMinor,
    status: input.status,
    reason: "requested_by_customer",
  });
  if ("error" in result) return { ok: false, status: 400, error: String(result.error.body) };
  return { ok: true, refundId: result.refund.id, eventIds: eventIds(result.emitted) };
}

export function finishRefund(
  context: StripeContext,
  input: {
    refundId: string;
    status: "succeeded" | "failed";
  },
): ScenarioResult<{ eventIds: string[] }> {
  const pending = context.state.refunds.get(input.refundId);
  if (pending?.status !== "pending")
    return { ok: false, status: 409, error: "no pending refund with that id" };
  return { ok: true, eventIds: eventIds(settleRefund(context, pending, input.status)) };
}

/** Signs a stored event as if sent at `atMs`: stale-timestamp and replay tests. */
export function signEvent(
  context: StripeContext,
  eventId: string,
  atMs: number,
  secret = context.webhookSecret,
): QueuedDelivery | null {
  const event = context.state.events.find((candidate) => candidate.id === eventId);
  if (!event) return null;
  const body = JSON.stringify(event);
  const headers = {
    "content-type": "application/json; charset=utf-8",
    "stripe-signature": signStripePayload(body, secret, Math.floor(atMs / 1000)),
  };
  return { provider: "stripe", eventId, url: "", headers, body };
}
