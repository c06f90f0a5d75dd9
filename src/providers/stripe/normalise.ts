/**
 * Turns a verified Stripe event into what payguard should do with it. Pure: the event in, a plan out.
 * Shapes are narrowed from `unknown` field by field, so an API-version change shows up as a clear
 * "malformed" instead of a wrong credit; a signed body that is no usable event at all is named as such
 * (`readStripeEvent`), to be recorded as ignored rather than failed again on every retry. PaymentIntent
 * events are planned in intent-plan.ts.
 */

import type { DisputePolicy, DisputeState, PaymentFact } from "../../ledger/types.ts";
import { planPaymentIntent } from "./intent-plan.ts";
import { ASYNC_PAYMENT_WAIT_MS, idOf, int, isObj, metadataOf, type Obj, str } from "./plan-parts.ts";
import { planSubscriptionEvent, type SubscriptionPlan } from "./subscription-plan.ts";

export { ASYNC_PAYMENT_WAIT_MS } from "./plan-parts.ts";

/** What a dispute does to credits when the deployment does not say (DISPUTE_POLICY, src/env.ts). */
export const DISPUTE_POLICY_DEFAULT: DisputePolicy = "claw_back";

/**
 * How to find our order. A session is found by the session id payguard stored when it opened it, and a
 * PaymentIntent payguard created itself (`intent`) by that intent's id, stored the same way; only when
 * that is unknown does the id the object names (client_reference_id / metadata.order_id) count, and the
 * database checks every claim against the order on record. A refund is found by the payment it refunds;
 * when that payment is not seen yet the database holds the refund.
 */
export type OrderLocator =
  | { by: "session"; sessionId: string; claimedOrderId: string | null }
  | { by: "intent"; paymentIntentId: string; claimedOrderId: string | null }
  | { by: "payment_intent"; paymentIntentId: string; claimedOrderId: string | null };

/**
 * `ignore` changes no order; its `claimedOrderId`, when it names one, only files the event under that
 * order for the console (a declined attempt of the order's PaymentIntent, say).
 */
export type StripeEventPlan =
  | { action: "ignore"; reason: string; claimedOrderId?: string | null }
  | { action: "settle"; locator: OrderLocator; facts: FactDraft[] }
  /** A paid invoice or a subscription's state (./subscription-plan.ts). */
  | Extract<SubscriptionPlan, { action: "settle_subscription" }>;

/** A fact whose orderId is filled in once the locator is resolved. */
export type FactDraft = DistributiveOmit<PaymentFact, "orderId">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface StripeEventInput {
  id: string;
  type: string;
  created: number;
  data: { object: unknown };
}

/** A signed body payguard cannot act on: what it names of itself, and why it is ignored. */
export interface UnusableStripeEvent {
  id: string | null;
  type: string | null;
  reason: string;
}

function sessionLocator(session: Obj, sessionId: string): OrderLocator {
  const metadata = isObj(session.metadata) ? session.metadata : {};
  const claimedOrderId = str(session.client_reference_id) ?? str(metadata.order_id);
  return { by: "session", sessionId, claimedOrderId };
}

function planSession(event: StripeEventInput, session: Obj): StripeEventPlan {
  const sessionId = str(session.id);
  if (!sessionId) return { action: "ignore", reason: "malformed: session without id" };
  // A subscribe checkout wrote no order: the subscription's invoices grant (invoice.paid).
  if (session.mode === "subscription")
    return { action: "ignore", reason: "subscription checkout: its invoices grant" };
  const locator = sessionLocator(session, sessionId);
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
      return planPaidSession(event, session, locator, sessionId);
    case "checkout.session.async_payment_failed":
      return {
        action: "settle",
        locator,
        facts: [{ kind: "failed", provider: "stripe", reason: "async_payment_failed" }],
      };
    case "checkout.session.expired":
      return { action: "settle", locator, facts: [{ kind: "expired", provider: "stripe" }] };
    default:
      return { action: "ignore", reason: `unhandled type ${event.type}` };
  }
}

/**
 * `paid`, and `no_payment_required` (a 100 % promotion code: amount 0, the discount recorded) are paid;
 * a session completed `unpaid` is an async method (bank debit, voucher) still in flight, whose result
 * comes as async_payment_succeeded / _failed: until then the order keeps its stock.
 */
function planPaidSession(
  event: StripeEventInput,
  session: Obj,
  locator: OrderLocator,
  sessionId: string,
): StripeEventPlan {
  const status = session.payment_status;
  if (status === "unpaid" && event.type === "checkout.session.completed") {
    // From the completion, not from whenever this copy arrived: every path states the same deadline.
    const untilMs = event.created * 1000 + ASYNC_PAYMENT_WAIT_MS;
    const paymentRef = idOf(session.payment_intent);
    return {
      action: "settle",
      locator,
      facts: [{ kind: "awaiting_payment", provider: "stripe", paymentRef, untilMs }],
    };
  }
  if (status !== "paid" && status !== "no_payment_required")
    return { action: "ignore", reason: `payment status ${String(status)}` };
  const amountMinor = int(session.amount_total);
  const currency = str(session.currency);
  if (amountMinor === null || !currency)
    return { action: "ignore", reason: "malformed: paid session without amount" };
  const totals = isObj(session.total_details) ? session.total_details : {};
  const fact: FactDraft = {
    kind: "paid",
    provider: "stripe",
    // The payment intent is the payment; a session that needed no payment has none, so it is its own.
    paymentRef: idOf(session.payment_intent) ?? sessionId,
    amountMinor,
    discountMinor: int(totals.amount_discount) ?? 0,
    currency: currency.toUpperCase(),
    paidAtMs: event.created * 1000,
    providerRef: sessionId,
    metadata: metadataOf(session),
  };
  return { action: "settle", locator, facts: [fact] };
}

/** Refund states that decide something: money back (succeeded) or not after all (failed). */
function refundDraft(refund: Obj, createdS: number, paymentRef: string | null): FactDraft | null {
  const refundRef = str(refund.id);
  const amountMinor = int(refund.amount);
  const currency = str(refund.currency);
  if (!refundRef || amountMinor === null || !currency) return null;
  // A failed refund reverses its clawback, whichever of the two events arrives first.
  if (refund.status === "failed") return { kind: "refund_failed", provider: "stripe", paymentRef, refundRef };
  // Pending ones are settled by their later update event; canceled ones never moved money.
  if (refund.status !== "succeeded") return null;
  const refundedAtMs = (int(refund.created) ?? createdS) * 1000;
  return {
    kind: "refunded",
    provider: "stripe",
    paymentRef,
    refundRef,
    amountMinor,
    currency: currency.toUpperCase(),
    refundedAtMs,
  };
}

/** A refund or a dispute is found by the payment it concerns (its metadata may name the order too). */
function paymentLocator(object: Obj): Extract<OrderLocator, { by: "payment_intent" }> | null {
  const metadata = isObj(object.metadata) ? object.metadata : {};
  const paymentIntentId = idOf(object.payment_intent);
  return paymentIntentId
    ? { by: "payment_intent", paymentIntentId, claimedOrderId: str(metadata.order_id) }
    : null;
}

function planCharge(event: StripeEventInput, charge: Obj): StripeEventPlan {
  const locator = paymentLocator(charge);
  if (!locator) return { action: "ignore", reason: "malformed: charge without payment intent" };
  const refunds = isObj(charge.refunds) && Array.isArray(charge.refunds.data) ? charge.refunds.data : [];
  const paymentRef = locator.paymentIntentId;
  const facts = refunds
    .filter(isObj)
    .flatMap((refund) => refundDraft(refund, event.created, paymentRef) ?? []);
  if (facts.length === 0) return { action: "ignore", reason: "no succeeded refund listed" };
  return { action: "settle", locator, facts };
}

function planRefund(event: StripeEventInput, refund: Obj): StripeEventPlan {
  const locator = paymentLocator(refund);
  if (!locator) return { action: "ignore", reason: "malformed: refund without payment intent" };
  const paymentRef = locator.paymentIntentId;
  const fact = refundDraft(refund, event.created, paymentRef);
  if (!fact) return { action: "ignore", reason: `refund status ${String(refund.status)}` };
  return { action: "settle", locator, facts: [fact] };
}

const REFUND_EVENT_TYPES = new Set([
  "refund.created",
  "refund.updated",
  "refund.failed",
  "charge.refund.updated",
]);

const DISPUTE_EVENT_TYPES = new Set([
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
  "charge.dispute.funds_withdrawn",
  "charge.dispute.funds_reinstated",
]);

/**
 * Where a dispute stands, from its `status`: decided for the merchant (won; an inquiry closed without a
 * chargeback; prevented before one), decided for the cardholder (lost), else still open (needs_response,
 * under_review, the warning_* inquiries, appeals, and any status Stripe adds later).
 */
function disputeState(status: unknown): DisputeState {
  if (status === "won" || status === "warning_closed" || status === "prevented") return "won";
  return status === "lost" ? "lost" : "open";
}

/** Every charge.dispute.* event states the whole dispute, so each is one idempotent fact of it. */
function planDispute(dispute: Obj, policy: DisputePolicy): StripeEventPlan {
  const disputeRef = str(dispute.id);
  const amountMinor = int(dispute.amount);
  const currency = str(dispute.currency);
  const locator = paymentLocator(dispute);
  if (!disputeRef || amountMinor === null || !currency || !locator)
    return { action: "ignore", reason: "malformed: dispute without id, amount or payment intent" };
  const fact: FactDraft = {
    kind: "disputed",
    provider: "stripe",
    paymentRef: locator.paymentIntentId,
    disputeRef,
    amountMinor,
    currency: currency.toUpperCase(),
    state: disputeState(dispute.status),
    policy,
  };
  return { action: "settle", locator, facts: [fact] };
}

/**
 * The verified body as an event: an id, a type, a creation time and an object in `data.object`. Anything
 * less is unusable, whatever its type (a thin `v2.core.event` notification carries no object at all).
 */
export function readStripeEvent(
  payload: unknown,
): { ok: true; event: StripeEventInput } | { ok: false; unusable: UnusableStripeEvent } {
  const body = isObj(payload) ? payload : {};
  const id = str(body.id);
  const type = str(body.type);
  const created = int(body.created);
  const data = isObj(body.data) ? body.data : null;
  const unusable = (reason: string) => ({ ok: false as const, unusable: { id, type, reason } });
  if (!isObj(payload)) return unusable("malformed: not a JSON object");
  if (!id) return unusable("malformed: no id");
  if (!type) return unusable("malformed: no type");
  if (body.object === "v2.core.event") return unusable("thin event (v2.core.event): no data.object");
  if (created === null) return unusable("malformed: no created");
  if (!data) return unusable("malformed: no data");
  if (!isObj(data.object)) return unusable("malformed: no data.object");
  return { ok: true, event: { id, type, created, data: { object: data.object } } };
}

/** `disputePolicy` is the deployment's DISPUTE_POLICY; only dispute events read it. */
export function planStripeEvent(
  event: StripeEventInput,
  disputePolicy: DisputePolicy = DISPUTE_POLICY_DEFAULT,
): StripeEventPlan {
  const object = event.data.object;
  if (!isObj(object)) return { action: "ignore", reason: "malformed: no data.object" };
  const subscription = planSubscriptionEvent(event.type, object, event.created);
  if (subscription) return subscription;
  if (event.type.startsWith("checkout.session.")) return planSession(event, object);
  if (event.type.startsWith("payment_intent.")) return planPaymentIntent(event, object);
  if (event.type === "charge.refunded") return planCharge(event, object);
  if (REFUND_EVENT_TYPES.has(event.type)) return planRefund(event, object);
  if (DISPUTE_EVENT_TYPES.has(event.type)) return planDispute(object, disputePolicy);
  return { action: "ignore", reason: `unhandled type ${event.type}` };
}
