/**
 * `payment_intent.*` events of the Payment Element flow, where payguard creates the PaymentIntent itself
 * and stores its id as the order's provider_ref. Pure: the event in, a plan out.
 *
 * Only intents whose server-written metadata says `checkout_flow: "payment_intent"` are acted on. A
 * Checkout Session makes a PaymentIntent too, whose metadata names the order but no flow: that session's
 * own events settle such an order, and acting on its intent as well would record one payment through a
 * second provider object (an order opened as `cs_…` paid through `pi_…` is a review, not a credit).
 *
 * `payment_intent.payment_failed` is not final, unlike a session's async_payment_failed: the intent goes
 * back to `requires_payment_method` and the customer may try another card in the same intent, on the same
 * page. Failing the order there would make the retry a "late payment" (an incident for every declined
 * card, and a review when the last unit was sold meanwhile). So the event is only filed under its order;
 * the order stays pending until the intent succeeds, or until the order's expiry, when the reconcile
 * cancels the intent first (src/providers/stripe/client.ts closeOrder) and only then expires the order.
 */
import type { FactDraft, OrderLocator, StripeEventInput, StripeEventPlan } from "./normalise.ts";
import { ASYNC_PAYMENT_WAIT_MS, int, isObj, metadataOf, type Obj, str } from "./plan-parts.ts";

/** The metadata key and value that mark an intent payguard created for the Payment Element flow. */
export const CHECKOUT_FLOW_KEY = "checkout_flow";
export const PAYMENT_INTENT_FLOW = "payment_intent";

/** What Stripe says a declined attempt was, for the inbox row's note. */
function declineOf(intent: Obj): string {
  const error = isObj(intent.last_payment_error) ? intent.last_payment_error : {};
  return str(error.decline_code) ?? str(error.code) ?? "no reason given";
}

/**
 * Paid: `amount_received` is what the intent collected, cross-checked against the order by the
 * settlement like a session's total. Dated by the event, as a session's payment is.
 */
function planSucceeded(
  event: StripeEventInput,
  intent: Obj,
  intentId: string,
  locator: OrderLocator,
): StripeEventPlan {
  const amountMinor = int(intent.amount_received);
  const currency = str(intent.currency);
  if (amountMinor === null || !currency)
    return { action: "ignore", reason: "malformed: succeeded payment intent without amount" };
  const fact: FactDraft = {
    kind: "paid",
    provider: "stripe",
    paymentRef: intentId,
    amountMinor,
    discountMinor: 0,
    currency: currency.toUpperCase(),
    paidAtMs: event.created * 1000,
    providerRef: intentId,
    metadata: metadataOf(intent),
  };
  return { action: "settle", locator, facts: [fact] };
}

export function planPaymentIntent(event: StripeEventInput, intent: Obj): StripeEventPlan {
  const intentId = str(intent.id);
  if (!intentId) return { action: "ignore", reason: "malformed: payment intent without id" };
  const metadata = isObj(intent.metadata) ? intent.metadata : {};
  const claimedOrderId = str(metadata.order_id);
  if (metadata[CHECKOUT_FLOW_KEY] !== PAYMENT_INTENT_FLOW) {
    const reason = claimedOrderId
      ? `payment intent ${intentId} of a Checkout Session: the session's events settle it`
      : `payment intent ${intentId} was not created by payguard`;
    return { action: "ignore", reason, claimedOrderId };
  }
  const locator: OrderLocator = { by: "intent", paymentIntentId: intentId, claimedOrderId };
  switch (event.type) {
    case "payment_intent.succeeded":
      return planSucceeded(event, intent, intentId, locator);
    case "payment_intent.processing": {
      // An async method (a bank debit) in flight: the order keeps its stock until its result is due.
      const untilMs = event.created * 1000 + ASYNC_PAYMENT_WAIT_MS;
      const fact: FactDraft = { kind: "awaiting_payment", provider: "stripe", paymentRef: intentId, untilMs };
      return { action: "settle", locator, facts: [fact] };
    }
    case "payment_intent.canceled":
      return { action: "settle", locator, facts: [{ kind: "expired", provider: "stripe" }] };
    case "payment_intent.payment_failed":
      return {
        action: "ignore",
        reason: `payment attempt declined (${declineOf(intent)}); not final: the customer may pay again in the same intent`,
        claimedOrderId,
      };
    default:
      return { action: "ignore", reason: `unhandled type ${event.type}`, claimedOrderId };
  }
}
