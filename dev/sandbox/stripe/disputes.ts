// Disputes (chargebacks) against a paid charge, and the events Stripe emits for them, each carrying the
// whole dispute: charge.dispute.created and charge.dispute.funds_withdrawn when the bank opens one,
// charge.dispute.updated when the merchant submits evidence, charge.dispute.closed when the bank decides,
// then charge.dispute.funds_reinstated if the merchant won.
import { type EmittedEvent, emitEvent } from "./events.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";
import type { Charge, Dispute } from "./types.ts";

/** How long the merchant has to answer (`evidence_details.due_by`): Stripe's usual window is 7–21 days. */
export const DISPUTE_RESPONSE_WINDOW_S = 7 * 24 * 60 * 60;

export const DISPUTE_OPEN_STATUSES: ReadonlySet<Dispute["status"]> = new Set([
  "needs_response",
  "under_review",
]);

export interface DisputeResult {
  dispute: Dispute;
  emitted: EmittedEvent[];
}

/** The cardholder's bank opens a chargeback: the disputed amount (default: all of it) leaves the balance. */
export function openDispute(
  context: StripeContext,
  charge: Charge,
  input: { amountMinor?: number; reason?: string },
): DisputeResult {
  const created = nowSeconds(context);
  const dispute: Dispute = {
    id: newId(context, "dp_"),
    object: "dispute",
    amount: Math.min(input.amountMinor ?? charge.amount, charge.amount),
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    evidence_details: {
      due_by: created + DISPUTE_RESPONSE_WINDOW_S,
      has_evidence: false,
      past_due: false,
      submission_count: 0,
    },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: input.reason ?? "fraudulent",
    status: "needs_response",
  };
  context.state.disputes.set(dispute.id, dispute);
  charge.disputed = true;
  const emitted = [
    emitEvent(context, "charge.dispute.created", dispute),
    emitEvent(context, "charge.dispute.funds_withdrawn", dispute),
  ];
  return { dispute, emitted };
}

/** The merchant submits evidence: the bank reviews it. */
export function submitEvidence(context: StripeContext, dispute: Dispute): EmittedEvent[] {
  const previous = { status: dispute.status };
  dispute.status = "under_review";
  dispute.evidence_details.has_evidence = true;
  dispute.evidence_details.submission_count += 1;
  return [emitEvent(context, "charge.dispute.updated", dispute, previous)];
}

/** The bank decides; a won dispute's funds come back in a further event. */
export function closeDispute(
  context: StripeContext,
  dispute: Dispute,
  outcome: "won" | "lost",
): EmittedEvent[] {
  const previous = { status: dispute.status };
  dispute.status = outcome;
  const emitted = [emitEvent(context, "charge.dispute.closed", dispute, previous)];
  if (outcome === "won") emitted.push(emitEvent(context, "charge.dispute.funds_reinstated", dispute));
  return emitted;
}
