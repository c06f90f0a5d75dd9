// Collecting a finalized invoice, as Stripe's automatic collection does: the invoice's default payment
// (an `invoice_payment` carrying a PaymentIntent with no metadata of the app's, its description Stripe's)
// is attempted; paid, it has a charge, and `invoice_payment.paid`, `invoice.paid` and
// `invoice.payment_succeeded` follow; declined, the intent waits for another method, the invoice stays
// open and `invoice.payment_failed` is sent. A retry reuses the same intent. Nothing is due (credit
// covered it): paid at once, with no payment. Also `GET /v1/invoice_payments` (by `invoice`, or by
// `payment[type]=payment_intent&payment[payment_intent]=`) and `GET /v1/invoice_payments/:id`.
import type { SandboxResponse } from "../http.ts";
import type { BillingReason, Invoice, InvoicePayment } from "./billing-types.ts";
import { invalidParam, missingResource } from "./errors.ts";
import { type EmittedEvent, emitEvent, ofPayment } from "./events.ts";
import { withExpansions } from "./expand.ts";
import { type FormObject, formObject, formString } from "./form.ts";
import { isResponse } from "./handler.ts";
import { createCharge, declineIntent, newIntent } from "./intents.ts";
import { pageList } from "./lists.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";
import type { PaymentIntent } from "./types.ts";

/** The description Stripe gives an invoice's PaymentIntent. */
const INTENT_DESCRIPTIONS: Record<BillingReason, string> = {
  subscription_create: "Subscription creation",
  subscription_cycle: "Subscription cycle",
  subscription_update: "Subscription update",
};

const PAYMENT_STATUSES = new Set(["open", "paid", "canceled"]);

export type CollectOutcome = "paid" | "failed";

export const defaultPaymentOf = (context: StripeContext, invoiceId: string): InvoicePayment | undefined =>
  [...context.state.invoicePayments.values()].find((payment) => payment.invoice === invoiceId);

/** The PaymentIntent that paid an invoice, if one did. */
export function paidIntentOfInvoice(context: StripeContext, invoiceId: string): string | null {
  const payment = defaultPaymentOf(context, invoiceId);
  return payment?.status === "paid" ? payment.payment.payment_intent : null;
}

function openPayment(context: StripeContext, invoice: Invoice): { intent: PaymentIntent; created: boolean } {
  const existing = defaultPaymentOf(context, invoice.id);
  const known = existing && context.state.paymentIntents.get(existing.payment.payment_intent);
  if (known) return { intent: known, created: false };
  const intent = newIntent(context, {
    amount: invoice.amount_due,
    currency: invoice.currency,
    metadata: {},
    description: INTENT_DESCRIPTIONS[invoice.billing_reason],
    customer: invoice.customer,
  });
  const payment: InvoicePayment = {
    id: newId(context, "inpay_"),
    object: "invoice_payment",
    amount_paid: null,
    amount_requested: invoice.amount_due,
    created: nowSeconds(context),
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { payment_intent: intent.id, type: "payment_intent" },
    status: "open",
    status_transitions: { canceled_at: null, paid_at: null },
  };
  context.state.invoicePayments.set(payment.id, payment);
  return { intent, created: true };
}

function markPaid(context: StripeContext, invoice: Invoice): EmittedEvent[] {
  invoice.status = "paid";
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.status_transitions.paid_at = nowSeconds(context);
  return [
    emitEvent(context, "invoice.paid", invoice),
    emitEvent(context, "invoice.payment_succeeded", invoice),
  ];
}

/** One collection attempt on an open invoice; the events in the order Stripe creates them. */
export function collectInvoice(
  context: StripeContext,
  invoice: Invoice,
  outcome: CollectOutcome,
): EmittedEvent[] {
  if (invoice.amount_due === 0) return markPaid(context, invoice);
  const emitted: EmittedEvent[] = [];
  const { intent, created } = openPayment(context, invoice);
  if (created) emitted.push(ofPayment(emitEvent(context, "payment_intent.created", intent)));
  invoice.attempted = true;
  invoice.attempt_count += 1;
  if (outcome === "failed") {
    declineIntent(intent);
    emitted.push(ofPayment(emitEvent(context, "payment_intent.payment_failed", intent)));
    emitted.push(emitEvent(context, "invoice.payment_failed", invoice));
    return emitted;
  }
  const charge = createCharge(context, intent);
  emitted.push(ofPayment(emitEvent(context, "charge.succeeded", charge)));
  emitted.push(ofPayment(emitEvent(context, "payment_intent.succeeded", intent)));
  const payment = defaultPaymentOf(context, invoice.id) as InvoicePayment;
  payment.status = "paid";
  payment.amount_paid = intent.amount_received;
  payment.status_transitions.paid_at = nowSeconds(context);
  emitted.push(emitEvent(context, "invoice_payment.paid", payment));
  emitted.push(...markPaid(context, invoice));
  return emitted;
}

type PaymentFilter = ((payment: InvoicePayment) => boolean) | SandboxResponse;

function paymentFilter(form: FormObject): PaymentFilter {
  const payment = formObject(form.payment);
  if (!payment) return () => true;
  const type = formString(payment.type);
  if (type === undefined)
    return invalidParam("payment[type]", "Missing required param: payment[type].", "parameter_missing");
  if (type !== "payment_intent" && type !== "payment_record")
    return invalidParam(
      "payment[type]",
      "Invalid payment[type]: must be one of payment_intent or payment_record",
      "parameter_invalid",
    );
  const intent = formString(payment.payment_intent);
  return (candidate) =>
    type === "payment_intent" && (intent === undefined || candidate.payment.payment_intent === intent);
}

export function listInvoicePayments(context: StripeContext, form: FormObject): object | SandboxResponse {
  const invoice = formString(form.invoice);
  const status = formString(form.status);
  if (status !== undefined && !PAYMENT_STATUSES.has(status))
    return invalidParam(
      "status",
      "Invalid status: must be one of canceled, open, or paid",
      "parameter_invalid",
    );
  const byPayment = paymentFilter(form);
  if (typeof byPayment !== "function") return byPayment;
  const page = pageList(form, {
    newestFirst: [...context.state.invoicePayments.values()].reverse(),
    matches: (payment) =>
      (invoice === undefined || payment.invoice === invoice) &&
      (status === undefined || payment.status === status) &&
      byPayment(payment),
    url: "/v1/invoice_payments",
    objectName: "invoice_payment",
  });
  return isResponse(page) ? page : withExpansions(context.state, form, page);
}

export function getInvoicePayment(
  context: StripeContext,
  form: FormObject,
  id: string,
): object | SandboxResponse {
  const payment = context.state.invoicePayments.get(id);
  return payment
    ? withExpansions(context.state, form, payment)
    : missingResource("invoice_payment", id, "id");
}
