/**
 * The Stripe event types payguard acts on (src/providers/stripe/normalise.ts, intent-plan.ts): the webhook
 * endpoint must subscribe to all of them, and the reconcile backfill lists exactly these. `events.list`
 * takes at most 20 `types[]`, so the list stays within that: `payment_intent.payment_failed` (a declined
 * attempt, which changes nothing), `customer.subscription.created` (the first paid invoice writes the
 * subscription too) and `customer.subscription.paused` / `.resumed` (a subscription whose period ends with
 * no renewal is retrieved by the re-check, which then sees its status) are read when they come but not
 * required.
 */
export const STRIPE_EVENT_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
  "payment_intent.succeeded",
  "payment_intent.processing",
  "payment_intent.canceled",
  "charge.refunded",
  "charge.refund.updated",
  "refund.created",
  "refund.updated",
  "refund.failed",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
  "charge.dispute.funds_withdrawn",
  "charge.dispute.funds_reinstated",
  "invoice.paid",
  "customer.subscription.updated",
  "customer.subscription.deleted",
] as const;
