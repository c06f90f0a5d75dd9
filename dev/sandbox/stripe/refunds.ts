// Refunds against a paid PaymentIntent's charge, and the events Stripe emits for them: charge.refunded
// and refund.created when a refund is made; refund.updated and charge.refund.updated when a pending
// refund later succeeds or fails; those two and refund.failed when a refund that had succeeded fails.
import type { SandboxResponse } from "../http.ts";
import { invalidParam, missingResource, stripeError } from "./errors.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";
import type { Charge, Metadata, Refund } from "./types.ts";

export interface NewRefund {
  paymentIntentId?: string;
  chargeId?: string;
  /** Default: what is left to refund. */
  amountMinor?: number;
  reason?: string;
  metadata?: Metadata;
  /** Card refunds in test mode succeed at once; `pending` lets a test settle it later. */
  status?: "succeeded" | "pending";
}

export interface RefundResult {
  refund: Refund;
  emitted: EmittedEvent[];
}

function chargeFor(
  context: StripeContext,
  input: NewRefund,
): { charge: Charge } | { error: SandboxResponse } {
  const { state } = context;
  if (input.chargeId) {
    const charge = state.charges.get(input.chargeId);
    return charge ? { charge } : { error: missingResource("charge", input.chargeId, "charge") };
  }
  if (!input.paymentIntentId) {
    const message = "One of `charge` or `payment_intent` is required.";
    return { error: invalidParam("payment_intent", message, "parameter_missing") };
  }
  const intent = state.paymentIntents.get(input.paymentIntentId);
  if (!intent) return { error: missingResource("payment_intent", input.paymentIntentId, "payment_intent") };
  const charge = intent.latest_charge ? state.charges.get(intent.latest_charge) : undefined;
  if (charge) return { charge };
  const error = stripeError({
    status: 400,
    type: "invalid_request_error",
    code: "charge_not_refundable",
    message: `PaymentIntent ${intent.id} does not have a successful charge to refund.`,
    param: "payment_intent",
  });
  return { error };
}

export function createRefund(
  context: StripeContext,
  input: NewRefund,
): RefundResult | { error: SandboxResponse } {
  const found = chargeFor(context, input);
  if ("error" in found) return found;
  const { charge } = found;
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining === 0) {
    const error = stripeError({
      status: 400,
      type: "invalid_request_error",
      code: "charge_already_refunded",
      message: `Charge ${charge.id} has already been refunded.`,
    });
    return { error };
  }
  const amount = input.amountMinor ?? remaining;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > remaining) {
    const message = `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`;
    return { error: invalidParam("amount", message, "amount_too_large") };
  }
  const refund: Refund = {
    id: newId(context, "re_"),
    object: "refund",
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: nowSeconds(context),
    currency: charge.currency,
    metadata: input.metadata ?? {},
    payment_intent: charge.payment_intent,
    reason: input.reason ?? null,
    status: input.status ?? "succeeded",
  };
  context.state.refunds.set(refund.id, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  charge.refunds.data.unshift(refund);
  charge.refunds.total_count = charge.refunds.data.length;
  const emitted = [
    emitEvent(context, "charge.refunded", charge, previous),
    emitEvent(context, "refund.created", refund),
  ];
  return { refund, emitted };
}

/** A pending refund reaches its final state; a failed one gives the amount back to the charge. */
export function settleRefund(
  context: StripeContext,
  refund: Refund,
  status: "succeeded" | "failed",
): EmittedEvent[] {
  const charge = context.state.charges.get(refund.charge);
  if (!charge) throw new Error(`refund ${refund.id} points at unknown charge ${refund.charge}`);
  // The charge lists this same refund object, so its copy in later events follows the new status.
  const previous = { status: refund.status };
  refund.status = status;
  if (status === "failed") {
    charge.amount_refunded -= refund.amount;
    charge.refunded = false;
  }
  return [
    emitEvent(context, "refund.updated", refund, previous),
    emitEvent(context, "charge.refund.updated", refund, previous),
  ];
}

/**
 * A refund that had succeeded fails after all (Stripe: the card was closed or the bank returned the
 * money, days later): it turns `failed`, its amount goes back to the charge, and refund.failed follows the
 * two update events.
 */
export function failSucceededRefund(context: StripeContext, refund: Refund): EmittedEvent[] {
  const emitted = settleRefund(context, refund, "failed");
  emitted.push(emitEvent(context, "refund.failed", refund));
  return emitted;
}
