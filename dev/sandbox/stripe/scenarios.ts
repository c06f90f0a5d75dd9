// Stripe scenario steps that tests drive through `/_control/stripe/*`: a customer pays (at once, by an
// async method settled then or later, or nothing under a 100 % promotion code), walks away, a session is
// expired, a merchant refunds, a cardholder disputes. Refusals (no such order, nothing to refund) are
// values, never exceptions.
import type { QueuedDelivery } from "../http.ts";
import { completeSession, createSession, expireSession, settleAsyncPayment } from "./checkout.ts";
import { closeDispute, DISPUTE_OPEN_STATUSES, openDispute, submitEvidence } from "./disputes.ts";
import { type EmittedEvent, signStripePayload } from "./events.ts";
import { confirmIntent } from "./intents.ts";
import { createRefund, failSucceededRefund, settleRefund } from "./refunds.ts";
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
  /** An async method, settled at once, or `pending` until `finishPayment`. */
  async?: "succeeded" | "failed" | "pending";
  /** A promotion code the customer entered takes this much off; the whole amount: a no-cost order. */
  discountMinor?: number;
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
  const completion = { async: input.async !== undefined, discountMinor: input.discountMinor };
  const emitted = [completeSession(context, session, completion)];
  if (input.async === "succeeded" || input.async === "failed")
    emitted.push(settleAsyncPayment(context, session, input.async));
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

/** The async payment of a session completed `unpaid` reaches its result. */
export function finishPayment(
  context: StripeContext,
  input: { orderId?: string; sessionId?: string; status: "succeeded" | "failed" },
): ScenarioResult<{ sessionId: string; eventIds: string[] }> {
  const awaiting = (session: CheckoutSession) =>
    session.status === "complete" &&
    session.payment_status === "unpaid" &&
    context.state.paymentIntents.get(session.payment_intent ?? "")?.status === "processing";
  const session = input.sessionId
    ? context.state.sessions.get(input.sessionId)
    : sessionsOf(context, input.orderId ?? "").find(awaiting);
  if (!session || !awaiting(session))
    return { ok: false, status: 409, error: "no session with an async payment in flight" };
  return {
    ok: true,
    sessionId: session.id,
    eventIds: eventIds([settleAsyncPayment(context, session, input.status)]),
  };
}

/** The order's paid PaymentIntent: its paid session's, else one created directly for it (`metadata.order_id`). */
const paidIntentOf = (context: StripeContext, orderId: string): string | null =>
  sessionsOf(context, orderId).find((session) => session.payment_status === "paid")?.payment_intent ??
  [...context.state.paymentIntents.values()].find(
    (intent) => intent.status === "succeeded" && intent.metadata.order_id === orderId,
  )?.id ??
  null;

/** The customer confirms a PaymentIntent the app created (Payment Element): paid, or the card declined. */
export function confirmPaymentIntent(
  context: StripeContext,
  input: { paymentIntentId: string; outcome: "succeeded" | "declined" },
): ScenarioResult<{ eventIds: string[] }> {
  const intent = context.state.paymentIntents.get(input.paymentIntentId);
  if (!intent) return { ok: false, status: 404, error: `no such payment intent ${input.paymentIntentId}` };
  if (intent.status !== "requires_payment_method")
    return { ok: false, status: 409, error: `payment intent ${intent.id} is ${intent.status}` };
  return { ok: true, eventIds: eventIds([confirmIntent(context, intent, input.outcome)]) };
}

export function refund(
  context: StripeContext,
  input: {
    orderId: string;
    amountMinor?: number;
    status?: "succeeded" | "pending";
  },
): ScenarioResult<{ refundId: string; eventIds: string[] }> {
  const paymentIntentId = paidIntentOf(context, input.orderId);
  if (!paymentIntentId)
    return { ok: false, status: 404, error: `order ${input.orderId} has no paid session` };
  const result = createRefund(context, {
    paymentIntentId,
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

/** A refund that succeeded fails later (`refund.failed`): the money is back with the merchant. */
export function failRefund(
  context: StripeContext,
  input: { refundId: string },
): ScenarioResult<{ eventIds: string[] }> {
  const refund = context.state.refunds.get(input.refundId);
  if (refund?.status !== "succeeded")
    return { ok: false, status: 409, error: "no succeeded refund with that id" };
  return { ok: true, eventIds: eventIds(failSucceededRefund(context, refund)) };
}

/** The cardholder disputes the paid charge of an order (or of a PaymentIntent); one dispute per charge. */
export function dispute(
  context: StripeContext,
  input: { orderId?: string; paymentIntentId?: string; amountMinor?: number; reason?: string },
): ScenarioResult<{ disputeId: string; paymentIntentId: string; eventIds: string[] }> {
  const paymentIntentId = input.paymentIntentId ?? paidIntentOf(context, input.orderId ?? "");
  const intent = context.state.paymentIntents.get(paymentIntentId ?? "");
  const charge = context.state.charges.get(intent?.latest_charge ?? "");
  if (!intent || !charge) return { ok: false, status: 404, error: "no paid charge to dispute" };
  if (charge.disputed) return { ok: false, status: 409, error: `charge ${charge.id} is already disputed` };
  const opened = openDispute(context, charge, input);
  return {
    ok: true,
    disputeId: opened.dispute.id,
    paymentIntentId: intent.id,
    eventIds: eventIds(opened.emitted),
  };
}

/** The merchant answers an open dispute (`respond`), or the bank decides it (`won` / `lost`). */
export function moveDispute(
  context: StripeContext,
  input: { disputeId: string; step: "respond" | "won" | "lost" },
): ScenarioResult<{ eventIds: string[] }> {
  const found = context.state.disputes.get(input.disputeId);
  if (!found || !DISPUTE_OPEN_STATUSES.has(found.status))
    return { ok: false, status: 409, error: "no open dispute with that id" };
  const emitted =
    input.step === "respond" ? submitEvidence(context, found) : closeDispute(context, found, input.step);
  return { ok: true, eventIds: eventIds(emitted) };
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
