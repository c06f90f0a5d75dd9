// PaymentIntents as Stripe keeps them. Checkout creates one when its customer pays (./checkout.ts), an
// invoice one when it is collected (./invoice-payments.ts); an app using the Payment Element creates its
// own (`POST /v1/payment_intents`), its customer confirms it on the client (scenario steps: pay,
// decline), and the merchant may cancel it. Each change emits Stripe's event: `payment_intent.created`,
// `.succeeded` (after its charge's `charge.succeeded`), `.payment_failed` (the
// intent goes back to `requires_payment_method`: the customer may try another card) and `.canceled`.
// Stripe's rules kept here: an intent can be canceled only while unpaid (not `succeeded`), and one a
// Checkout Session or an invoice created only through that object (expire the session instead).
import type { SandboxResponse } from "../http.ts";
import { invalidParam, missingResource, stripeError } from "./errors.ts";
import { type EmittedEvent, emitEvent, ofPayment } from "./events.ts";
import { type FormObject, formString, formStringMap } from "./form.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";
import type { Charge, Metadata, PaymentIntent } from "./types.ts";

const CANCELLATION_REASONS = new Set(["duplicate", "fraudulent", "requested_by_customer", "abandoned"]);

export function newIntent(
  context: StripeContext,
  input: {
    amount: number;
    currency: string;
    metadata: Metadata;
    description: string | null;
    customer?: string | null;
  },
): PaymentIntent {
  const id = newId(context, "pi_");
  const intent: PaymentIntent = {
    id,
    object: "payment_intent",
    amount: input.amount,
    amount_received: 0,
    canceled_at: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${newId(context, "")}`,
    created: nowSeconds(context),
    currency: input.currency,
    customer: input.customer ?? null,
    description: input.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: input.metadata,
    status: "requires_payment_method",
  };
  context.state.paymentIntents.set(id, intent);
  return intent;
}

/** The intent's payment succeeded: its charge, and the intent `succeeded`. */
export function createCharge(context: StripeContext, intent: PaymentIntent): Charge {
  const id = newId(context, "ch_");
  const charge: Charge = {
    id,
    object: "charge",
    amount: intent.amount,
    amount_captured: intent.amount,
    amount_refunded: 0,
    captured: true,
    created: nowSeconds(context),
    currency: intent.currency,
    customer: intent.customer,
    disputed: false,
    livemode: false,
    metadata: { ...intent.metadata },
    paid: true,
    payment_intent: intent.id,
    refunded: false,
    refunds: { object: "list", data: [], has_more: false, total_count: 0, url: `/v1/charges/${id}/refunds` },
    status: "succeeded",
  };
  context.state.charges.set(id, charge);
  intent.latest_charge = id;
  intent.amount_received = intent.amount;
  intent.status = "succeeded";
  intent.last_payment_error = null;
  return charge;
}

/** `POST /v1/payment_intents`: amount (a positive integer of minor units) and currency are required. */
export function createIntentFromForm(
  context: StripeContext,
  form: FormObject,
): PaymentIntent | SandboxResponse {
  const amount = Number(formString(form.amount));
  if (!Number.isSafeInteger(amount) || amount < 1)
    return invalidParam(
      "amount",
      "This value must be greater than or equal to 1.",
      "parameter_invalid_integer",
    );
  const currency = formString(form.currency)?.toLowerCase();
  if (!currency) return invalidParam("currency", "Missing required param: currency.", "parameter_missing");
  const intent = newIntent(context, {
    amount,
    currency,
    metadata: formStringMap(form.metadata),
    description: formString(form.description) ?? null,
  });
  emitEvent(context, "payment_intent.created", intent);
  return intent;
}

/** Why an intent can be canceled only through the object that created it, if one did. */
function ownerOf(context: StripeContext, intent: PaymentIntent): string | null {
  if ([...context.state.sessions.values()].some((session) => session.payment_intent === intent.id))
    return "This PaymentIntent was created by a Checkout Session: expire the Checkout Session instead.";
  if ([...context.state.invoicePayments.values()].some((p) => p.payment.payment_intent === intent.id))
    return "This PaymentIntent was created by an invoice: it can only be canceled through the invoice.";
  return null;
}

/** `POST /v1/payment_intents/:id/cancel`. */
export function cancelIntent(
  context: StripeContext,
  id: string,
  form: FormObject,
): PaymentIntent | SandboxResponse {
  const intent = context.state.paymentIntents.get(id);
  if (!intent) return missingResource("payment_intent", id, "intent");
  const reason = formString(form.cancellation_reason);
  if (reason !== undefined && !CANCELLATION_REASONS.has(reason))
    return invalidParam(
      "cancellation_reason",
      `Invalid cancellation_reason: must be one of ${[...CANCELLATION_REASONS].join(", ")}`,
      "parameter_invalid_string",
    );
  const owner = ownerOf(context, intent);
  if (owner || intent.status === "succeeded" || intent.status === "canceled") {
    return stripeError({
      status: 400,
      type: "invalid_request_error",
      code: "payment_intent_unexpected_state",
      message:
        owner ??
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`,
    });
  }
  intent.status = "canceled";
  intent.canceled_at = nowSeconds(context);
  intent.cancellation_reason = reason ?? null;
  emitEvent(context, "payment_intent.canceled", intent);
  return intent;
}

/** The card was declined: the intent waits for another payment method. */
export function declineIntent(intent: PaymentIntent): void {
  intent.status = "requires_payment_method";
  intent.last_payment_error = {
    type: "card_error",
    code: "card_declined",
    decline_code: "generic_decline",
    message: "Your card was declined.",
  };
}

/**
 * The customer confirmed a directly created intent on the client: paid (its charge's event is about the
 * payment underneath the intent), or the card was declined.
 */
export function confirmIntent(
  context: StripeContext,
  intent: PaymentIntent,
  outcome: "succeeded" | "declined",
): EmittedEvent[] {
  if (outcome === "succeeded") {
    const charge = createCharge(context, intent);
    return [
      ofPayment(emitEvent(context, "charge.succeeded", charge)),
      emitEvent(context, "payment_intent.succeeded", intent),
    ];
  }
  declineIntent(intent);
  return [emitEvent(context, "payment_intent.payment_failed", intent)];
}
