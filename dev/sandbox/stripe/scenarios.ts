// Stripe scenario steps that tests drive through `/_control/stripe/*`: a customer pays (at once, by an
// async method settled then or later, or nothing under a 100 % promotion code; a subscription-mode
// session subscribes), walks away, a session is expired, a merchant refunds, a cardholder disputes.
// Refusals (no such order, nothing to refund) are values, never exceptions.
//
// A step answers the events about the objects it acts on as `eventIds`, and those about the PaymentIntent
// and Charge that carry its payment underneath (a Checkout Session's or an invoice's intent, a confirmed
// intent's charge) as `paymentEventIds`, so a test forwarding the step's deliveries gets the former only.
import type { QueuedDelivery } from "../http.ts";
import { completeSession, createSession, expireSession, settleAsyncPayment } from "./checkout.ts";
import { closeDispute, DISPUTE_OPEN_STATUSES, openDispute, submitEvidence } from "./disputes.ts";
import { type EmittedEvent, signStripePayload } from "./events.ts";
import { confirmIntent } from "./intents.ts";
import { paidIntentOfInvoice } from "./invoice-payments.ts";
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

export const eventIds = (emitted: EmittedEvent[]): string[] =>
  emitted.filter((entry) => !entry.ofPayment).map((entry) => entry.event.id);

/** Both lists of a step that may pay through a PaymentIntent. */
export const stepEvents = (emitted: EmittedEvent[]): { eventIds: string[]; paymentEventIds: string[] } => ({
  eventIds: eventIds(emitted),
  paymentEventIds: emitted.filter((entry) => entry.ofPayment).map((entry) => entry.event.id),
});

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

type PayAnswer = {
  sessionId: string;
  paymentIntentId: string;
  eventIds: string[];
  paymentEventIds: string[];
};

/** What a paid subscription-mode session created, for the answer. */
function subscribed(context: StripeContext, session: CheckoutSession) {
  const invoiceId = session.invoice ?? "";
  return {
    paymentIntentId: paidIntentOfInvoice(context, invoiceId) ?? "",
    subscriptionId: session.subscription ?? "",
    invoiceId,
    customerId: session.customer ?? "",
  };
}

export function pay(context: StripeContext, input: PayInput): ScenarioResult<PayAnswer> {
  const session = openSession(context, input);
  if (!session) return { ok: false, status: 404, error: `no such session ${input.sessionId}` };
  if (session.status !== "open")
    return { ok: false, status: 409, error: `session ${session.id} is ${session.status}` };
  if (session.mode === "subscription" && (input.async !== undefined || input.discountMinor !== undefined))
    return { ok: false, status: 400, error: "async and discountMinor apply to mode=payment sessions only" };
  if (input.atExpire) {
    context.state.payAtExpire.add(session.id);
    return { ok: true, sessionId: session.id, paymentIntentId: "", eventIds: [], paymentEventIds: [] };
  }
  const completion = { async: input.async !== undefined, discountMinor: input.discountMinor };
  const emitted = completeSession(context, session, completion);
  if (input.async === "succeeded" || input.async === "failed")
    emitted.push(...settleAsyncPayment(context, session, input.async));
  const paid = {
    sessionId: session.id,
    paymentIntentId: session.payment_intent ?? "",
    ...stepEvents(emitted),
  };
  return session.mode === "subscription"
    ? { ok: true, ...paid, ...subscribed(context, session) }
    : { ok: true, ...paid };
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
    ...stepEvents(settleAsyncPayment(context, session, input.status)),
  };
}

/**
 * The order's paid PaymentIntent: its paid session's (a subscription session's: its first invoice's), else
 * one created directly for it (`metadata.order_id`).
 */
function paidIntentOf(context: StripeContext, orderId: string): string | null {
  const session = sessionsOf(context, orderId).find((candidate) => candidate.payment_status === "paid");
  const ofSession =
    session?.payment_intent ?? (session?.invoice ? paidIntentOfInvoice(context, session.invoice) : null);
  return (
    ofSession ??
    [...context.state.paymentIntents.values()].find(
      (intent) => intent.status === "succeeded" && intent.metadata.order_id === orderId,
    )?.id ??
    null
  );
}

/** Which paid payment a refund or dispute step means: an intent, an invoice's, or an order's. */
export interface PaymentTarget {
  orderId?: string;
  paymentIntentId?: string;
  invoiceId?: string;
}

const targetIntent = (context: StripeContext, target: PaymentTarget): string | null =>
  target.paymentIntentId ??
  (target.invoiceId ? paidIntentOfInvoice(context, target.invoiceId) : null) ??
  paidIntentOf(context, target.orderId ?? "");

/** The customer confirms a PaymentIntent the app created (Payment Element): paid, or the card declined. */
export function confirmPaymentIntent(
  context: StripeContext,
  input: { paymentIntentId: string; outcome: "succeeded" | "declined" },
): ScenarioResult<{ eventIds: string[]; paymentEventIds: string[] }> {
  const intent = context.state.paymentIntents.get(input.paymentIntentId);
  if (!intent) return { ok: false, status: 404, error: `no such payment intent ${input.paymentIntentId}` };
  if (intent.status !== "requires_payment_method")
    return { ok: false, status: 409, error: `payment intent ${intent.id} is ${intent.status}` };
  return { ok: true, ...stepEvents(confirmIntent(context, intent, input.outcome)) };
}

export function refund(
  context: StripeContext,
  input: PaymentTarget & {
    amountMinor?: number;
    status?: "succeeded" | "pending";
  },
): ScenarioResult<{ refundId: string; eventIds: string[] }> {
  const paymentIntentId = targetIntent(context, input);
  if (!paymentIntentId)
    return {
      ok: false,
      status: 404,
      error: input.invoiceId
        ? `invoice ${input.invoiceId} has no paid payment`
        : `order ${input.orderId} has no paid session`,
    };
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
  input: PaymentTarget & { amountMinor?: number; reason?: string },
): ScenarioResult<{ disputeId: string; paymentIntentId: string; eventIds: string[] }> {
  const intent = context.state.paymentIntents.get(targetIntent(context, input) ?? "");
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
