// Subscription invoices: drafted with their lines (a period in advance, or prorations), finalized
// (numbered, the customer's credit balance applied), and served: `GET /v1/invoices/:id`,
// `GET /v1/invoices/:id/lines`, `GET /v1/invoices?subscription=&customer=&status=`. Collecting the
// payment is invoice-payments.ts. Every subscription invoice here charges automatically and finalizes at
// once; Stripe waits about an hour after `invoice.created` before finalizing a renewal.
import type { SandboxResponse } from "../http.ts";
import type {
  BillingReason,
  Customer,
  Invoice,
  InvoiceLineItem,
  Price,
  Subscription,
} from "./billing-types.ts";
import { nextInvoiceNumber } from "./customers.ts";
import { invalidParam, missingResource } from "./errors.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { withExpansions } from "./expand.ts";
import { type FormObject, formString } from "./form.ts";
import { isResponse } from "./handler.ts";
import { pageList } from "./lists.ts";
import { newId, nowSeconds, type StripeContext, snapshot } from "./state.ts";

/** Who the sandbox's invoices say they are from. */
const ACCOUNT = { country: "US", name: "Payguard Sandbox" };
const INVOICE_STATUSES = new Set(["draft", "open", "paid", "uncollectible", "void"]);

export interface LineDraft {
  amount: number;
  description: string;
  subscriptionItem: string;
  price: Price;
  quantity: number;
  period: { start: number; end: number };
  proration: boolean;
  /** A price's own decimal, or a proration's unrounded share of it. */
  unitAmountDecimal: string;
  /** A credit proration names the line that debited the period it credits. */
  creditedItems?: { invoice: string; invoice_line_items: string[] } | null;
}

export interface NewInvoice {
  subscription: Subscription;
  customer: Customer;
  billingReason: BillingReason;
  lines: LineDraft[];
  /** The usage period the invoice looks back on (Stripe: one period back for a renewal). */
  periodStartS: number;
  periodEndS: number;
}

function lineOf(
  context: StripeContext,
  invoiceId: string,
  subscription: string,
  draft: LineDraft,
): InvoiceLineItem {
  return {
    id: newId(context, "il_"),
    object: "line_item",
    amount: draft.amount,
    currency: draft.price.currency,
    description: draft.description,
    discount_amounts: [],
    discountable: !draft.proration,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: draft.proration ? newId(context, "ii_") : null,
        proration: draft.proration,
        proration_details: { credited_items: draft.creditedItems ?? null },
        subscription,
        subscription_item: draft.subscriptionItem,
      },
      type: "subscription_item_details",
    },
    period: { ...draft.period },
    pretax_credit_amounts: [],
    pricing: {
      price_details: { price: draft.price.id, product: draft.price.product },
      type: "price_details",
      unit_amount_decimal: draft.unitAmountDecimal,
    },
    quantity: draft.quantity,
    subscription,
    subtotal: draft.amount,
    taxes: [],
  };
}

/** Stripe's empty values for what the sandbox never fills: tax, shipping, credit notes, rendering. */
const unfilledFields = () =>
  ({
    account_tax_ids: null,
    amount_overpaid: 0,
    amount_shipping: 0,
    application: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    custom_fields: null,
    customer_address: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    next_payment_attempt: null,
    on_behalf_of: null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    statement_descriptor: null,
    test_clock: null,
    total_discount_amounts: [],
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  }) satisfies Partial<Invoice>;

/** A draft: amounts summed, the customer's balance shown as it stands (applied at finalization). */
export function draftInvoice(context: StripeContext, input: NewInvoice): Invoice {
  const id = newId(context, "in_");
  const { subscription, customer } = input;
  const lines = input.lines.map((draft) => lineOf(context, id, subscription.id, draft));
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  const amountDue = Math.max(0, total + customer.balance);
  const invoice: Invoice = {
    ...unfilledFields(),
    id,
    object: "invoice",
    account_country: ACCOUNT.country,
    account_name: ACCOUNT.name,
    amount_due: amountDue,
    amount_paid: 0,
    amount_remaining: amountDue,
    attempt_count: 0,
    attempted: false,
    auto_advance: true,
    billing_reason: input.billingReason,
    collection_method: "charge_automatically",
    created: nowSeconds(context),
    currency: subscription.currency,
    customer: customer.id,
    customer_email: customer.email,
    customer_name: customer.name,
    effective_at: null,
    ending_balance: null,
    lines: {
      object: "list",
      data: lines,
      has_more: false,
      total_count: lines.length,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    number: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: snapshot(subscription.metadata), subscription: subscription.id },
      type: "subscription_details",
    },
    period_end: input.periodEndS,
    period_start: input.periodStartS,
    starting_balance: customer.balance,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
  };
  context.state.invoices.set(id, invoice);
  return invoice;
}

/**
 * Numbered and open. A credit on the customer's balance pays what it can; a negative total (a downgrade's
 * prorations) leaves the rest as credit for the next invoices.
 */
export function finalizeInvoice(context: StripeContext, invoice: Invoice, customer: Customer): EmittedEvent {
  const nowS = nowSeconds(context);
  const afterBalance = invoice.total + invoice.starting_balance;
  invoice.status = "open";
  invoice.number = nextInvoiceNumber(customer);
  invoice.effective_at = nowS;
  invoice.status_transitions.finalized_at = nowS;
  invoice.ending_balance = Math.min(0, afterBalance);
  customer.balance = Math.min(0, afterBalance);
  return emitEvent(context, "invoice.finalized", invoice);
}

const newestFirst = (context: StripeContext): Invoice[] => [...context.state.invoices.values()].reverse();

export function getInvoice(context: StripeContext, form: FormObject, id: string): object | SandboxResponse {
  const invoice = context.state.invoices.get(id);
  return invoice ? withExpansions(context.state, form, invoice) : missingResource("invoice", id, "invoice");
}

export function getInvoiceLines(
  context: StripeContext,
  _form: FormObject,
  id: string,
): object | SandboxResponse {
  return context.state.invoices.get(id)?.lines ?? missingResource("invoice", id, "invoice");
}

export function listInvoices(context: StripeContext, form: FormObject): object | SandboxResponse {
  const subscription = formString(form.subscription);
  const customer = formString(form.customer);
  const status = formString(form.status);
  if (status !== undefined && !INVOICE_STATUSES.has(status))
    return invalidParam(
      "status",
      `Invalid status: must be one of ${[...INVOICE_STATUSES].join(", ")}`,
      "parameter_invalid",
    );
  const page = pageList(form, {
    newestFirst: newestFirst(context),
    matches: (invoice) =>
      (subscription === undefined || invoice.parent.subscription_details.subscription === subscription) &&
      (customer === undefined || invoice.customer === customer) &&
      (status === undefined || invoice.status === status),
    url: "/v1/invoices",
    objectName: "invoice",
  });
  return isResponse(page) ? page : withExpansions(context.state, form, page);
}
