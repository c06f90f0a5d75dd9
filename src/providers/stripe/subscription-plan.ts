/**
 * Turns a verified invoice or customer.subscription.* event into the subscription fact it states. Pure, and
 * narrowed field by field like normalise.ts. Read for the API version payguard pins (2025-03-31 "basil" and
 * later): an invoice names its subscription under `parent.subscription_details`, a line its price under
 * `pricing.price_details` and its proration under `parent.subscription_item_details`, a subscription item
 * its current period; the older top-level fields are read too, so an account on an older version works.
 * An invoice's own `period_start` / `period_end` look back one period, so the grant's period is its lines'.
 */
import type { InvoiceLine, OrderMetadata, SubscriptionFact } from "../../ledger/types.ts";
import { idOf, int, isObj, type Obj, str } from "./plan-parts.ts";

export type SubscriptionPlan =
  | { action: "ignore"; reason: string }
  /** An `invoice_paid` fact leaves paymentRef null: the event does not carry it (src/providers/stripe/invoice-payment.ts). */
  | { action: "settle_subscription"; fact: SubscriptionFact };

export const SUBSCRIPTION_STATE_EVENT_TYPES = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
]);

const objOf = (value: unknown): Obj => (isObj(value) ? value : {});
const listData = (value: unknown): Obj[] => {
  const list = objOf(value);
  return Array.isArray(list.data) ? list.data.filter(isObj) : [];
};
const ms = (seconds: number | null): number | null => (seconds === null ? null : seconds * 1000);

function subscriptionMetadata(metadata: unknown): OrderMetadata | undefined {
  const fields = objOf(metadata);
  const userId = str(fields.user_id);
  const packageId = str(fields.package_id);
  if (!userId && !packageId) return undefined;
  return { ...(userId && { userId }), ...(packageId && { packageId }) };
}

function invoiceLine(line: Obj): InvoiceLine | null {
  const amountMinor = int(line.amount);
  const currency = str(line.currency);
  if (amountMinor === null || !currency) return null;
  const pricing = objOf(objOf(line.pricing).price_details);
  const itemDetails = objOf(objOf(line.parent).subscription_item_details);
  return {
    priceRef: idOf(pricing.price) ?? idOf(line.price),
    amountMinor,
    currency: currency.toUpperCase(),
    quantity: int(line.quantity) ?? 1,
    proration: itemDetails.proration === true || line.proration === true,
  };
}

/** The lines' service period: the full-period lines' when there are any, else the prorations'. */
function linesPeriod(lines: Obj[]): { startMs: number; endMs: number } | null {
  const periods = lines.map((line) => ({ line, period: objOf(line.period) }));
  const full = periods.filter(({ line }) => !invoiceLine(line)?.proration);
  const chosen = full.length ? full : periods;
  const starts = chosen.flatMap(({ period }) => int(period.start) ?? []);
  const ends = chosen.flatMap(({ period }) => int(period.end) ?? []);
  if (!starts.length || !ends.length) return null;
  return { startMs: Math.min(...starts) * 1000, endMs: Math.max(...ends) * 1000 };
}

const sumAmounts = (entries: unknown): number =>
  Array.isArray(entries) ? entries.reduce((sum, entry) => sum + (int(objOf(entry).amount) ?? 0), 0) : 0;

/** `invoice.paid`: every line of the invoice (a list of more than one page is refused, not guessed). */
export function planPaidInvoice(invoice: Obj, eventCreatedS: number): SubscriptionPlan {
  const invoiceRef = str(invoice.id);
  const details = objOf(objOf(invoice.parent).subscription_details);
  const subscriptionRef = idOf(details.subscription) ?? idOf(invoice.subscription);
  if (!invoiceRef) return { action: "ignore", reason: "malformed: invoice without id" };
  if (!subscriptionRef) return { action: "ignore", reason: "invoice of no subscription" };
  if (invoice.status !== "paid")
    return { action: "ignore", reason: `invoice status ${String(invoice.status)}` };
  const amountPaid = int(invoice.amount_paid);
  const currency = str(invoice.currency);
  const rawLines = listData(invoice.lines);
  const lines = rawLines.map(invoiceLine);
  const period = linesPeriod(rawLines);
  if (amountPaid === null || !currency || !period || lines.some((line) => line === null))
    return { action: "ignore", reason: "malformed: paid invoice without amount, currency or line periods" };
  if (objOf(invoice.lines).has_more === true)
    return { action: "ignore", reason: "malformed: invoice lines span more than one page" };
  const total = int(invoice.total);
  const totalExcludingTax = int(invoice.total_excluding_tax);
  const tax = total !== null && totalExcludingTax !== null ? total - totalExcludingTax : 0;
  const transitions = objOf(invoice.status_transitions);
  return {
    action: "settle_subscription",
    fact: {
      kind: "invoice_paid",
      provider: "stripe",
      invoiceRef,
      subscriptionRef,
      billingReason: str(invoice.billing_reason),
      paymentRef: null,
      amountMinor: Math.max(amountPaid - tax, 0),
      discountMinor: sumAmounts(invoice.total_discount_amounts),
      currency: currency.toUpperCase(),
      paidAtMs: (int(transitions.paid_at) ?? eventCreatedS) * 1000,
      periodStartMs: period.startMs,
      periodEndMs: period.endMs,
      metadata:
        subscriptionMetadata(details.metadata) ??
        subscriptionMetadata(objOf(invoice.subscription_details).metadata),
      lines: lines.filter((line): line is InvoiceLine => line !== null),
    },
  };
}

/** A customer.subscription.* event: the subscription's whole state, dated by the event. */
export function planSubscriptionState(subscription: Obj, eventCreatedS: number): SubscriptionPlan {
  const subscriptionRef = str(subscription.id);
  const status = str(subscription.status);
  if (!subscriptionRef || !status)
    return { action: "ignore", reason: "malformed: subscription without id or status" };
  const [item] = listData(subscription.items);
  const itemFields = objOf(item);
  return {
    action: "settle_subscription",
    fact: {
      kind: "subscription_state",
      provider: "stripe",
      subscriptionRef,
      status,
      reportedAtMs: eventCreatedS * 1000,
      currentPeriodStartMs: ms(
        int(itemFields.current_period_start) ?? int(subscription.current_period_start),
      ),
      currentPeriodEndMs: ms(int(itemFields.current_period_end) ?? int(subscription.current_period_end)),
      cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
      priceRef: idOf(itemFields.price),
      metadata: subscriptionMetadata(subscription.metadata),
    },
  };
}

/** The subscription plan for an event type payguard reads this way, else null (not a subscription event). */
export function planSubscriptionEvent(type: string, object: Obj, createdS: number): SubscriptionPlan | null {
  if (type === "invoice.paid") return planPaidInvoice(object, createdS);
  if (SUBSCRIPTION_STATE_EVENT_TYPES.has(type)) return planSubscriptionState(object, createdS);
  return null;
}
