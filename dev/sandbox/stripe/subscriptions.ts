// Subscriptions: started when a subscription-mode Checkout Session is paid (checkout-subscription.ts),
// renewed at the end of each period by the sandbox's clock (`tick`) or on demand (scenario `renew`),
// changed with prorations (subscription-update.ts), canceled at once (subscription-routes.ts) or at the
// period's end. Each invoice goes created → finalized → collected (invoice-payments.ts); the
// subscription follows its latest invoice: `past_due` while that is unpaid, `active` again once paid.
//
// A renewal, as Stripe orders it: `customer.subscription.updated` (the items' new period;
// previous_attributes hold the old items and latest_invoice), `invoice.created`, `invoice.finalized`,
// then the collection's events, then `customer.subscription.updated` again if the status changed.
import type { Customer, Invoice, Price, Subscription, SubscriptionItem } from "./billing-types.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { type CollectOutcome, collectInvoice } from "./invoice-payments.ts";
import { draftInvoice, finalizeInvoice, type LineDraft, type NewInvoice } from "./invoices.ts";
import { cycleLineDescription, nextBoundary } from "./periods.ts";
import { planOf, productName } from "./prices.ts";
import { newId, nowSeconds, type StripeContext, snapshot } from "./state.ts";

/** A clock moved far ahead renews a subscription period by period, at most this many in one tick. */
export const RENEWALS_PER_TICK_MAX = 100;

export function recurringOf(price: Price) {
  if (!price.recurring) throw new Error(`price ${price.id} is not recurring`);
  return price.recurring;
}

export function customerOf(context: StripeContext, subscription: Subscription): Customer {
  const customer = context.state.customers.get(subscription.customer);
  if (!customer) throw new Error(`subscription ${subscription.id} has no customer ${subscription.customer}`);
  return customer;
}

export function newItem(
  context: StripeContext,
  subscriptionId: string,
  entry: { price: Price; quantity: number; startS: number; endS: number },
): SubscriptionItem {
  return {
    id: newId(context, "si_"),
    object: "subscription_item",
    billing_thresholds: null,
    created: nowSeconds(context),
    current_period_end: entry.endS,
    current_period_start: entry.startS,
    discounts: [],
    metadata: {},
    plan: planOf(entry.price, recurringOf(entry.price)),
    price: entry.price,
    quantity: entry.quantity,
    subscription: subscriptionId,
    tax_rates: [],
  };
}

/** Stripe's empty values for what the sandbox never fills: tax, schedules, trials, payment settings. */
const unfilledFields = () =>
  ({
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor_config: null,
    billing_thresholds: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    description: null,
    discounts: [],
    invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: null,
    trial_start: null,
  }) satisfies Partial<Subscription>;

/** A new active subscription whose first period starts now (not yet emitted, not yet invoiced). */
export function startSubscription(
  context: StripeContext,
  input: {
    customer: Customer;
    items: Array<{ price: Price; quantity: number }>;
    metadata: Record<string, string>;
  },
): Subscription {
  const nowS = nowSeconds(context);
  const id = newId(context, "sub_");
  const items = input.items.map(({ price, quantity }) =>
    newItem(context, id, {
      price,
      quantity,
      startS: nowS,
      endS: nextBoundary(nowS, recurringOf(price), nowS),
    }),
  );
  const subscription: Subscription = {
    ...unfilledFields(),
    id,
    object: "subscription",
    billing_cycle_anchor: nowS,
    billing_mode: { flexible: { proration_discounts: "included" }, type: "flexible", updated_at: nowS },
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: "charge_automatically",
    created: nowS,
    currency: input.items[0]?.price.currency ?? "usd",
    customer: input.customer.id,
    ended_at: null,
    items: {
      object: "list",
      data: items,
      has_more: false,
      total_count: items.length,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: input.metadata,
    start_date: nowS,
    status: "active",
  };
  context.state.subscriptions.set(id, subscription);
  return subscription;
}

/** Each item's full amount for the period it is in now, billed in advance. */
export function cycleLines(context: StripeContext, subscription: Subscription): LineDraft[] {
  return subscription.items.data.map((item) => ({
    amount: item.price.unit_amount * item.quantity,
    description: cycleLineDescription(
      item.quantity,
      productName(context, item.price),
      item.price.unit_amount,
      item.price.currency,
      recurringOf(item.price),
    ),
    subscriptionItem: item.id,
    price: item.price,
    quantity: item.quantity,
    period: { start: item.current_period_start, end: item.current_period_end },
    proration: false,
    unitAmountDecimal: item.price.unit_amount_decimal,
  }));
}

/** A draft invoice that becomes the subscription's latest. */
export function draftFor(
  context: StripeContext,
  subscription: Subscription,
  input: Omit<NewInvoice, "subscription" | "customer">,
): Invoice {
  const invoice = draftInvoice(context, {
    ...input,
    subscription,
    customer: customerOf(context, subscription),
  });
  subscription.latest_invoice = invoice.id;
  return invoice;
}

/** The status follows the latest invoice: unpaid after an attempt → past_due; paid → active. */
export function followLatestInvoice(context: StripeContext, subscription: Subscription): EmittedEvent[] {
  const invoice = context.state.invoices.get(subscription.latest_invoice ?? "");
  if (!invoice || subscription.status === "canceled") return [];
  const next = invoice.status === "paid" ? "active" : invoice.attempted ? "past_due" : subscription.status;
  if (next === subscription.status) return [];
  const previous = { status: subscription.status };
  subscription.status = next;
  return [emitEvent(context, "customer.subscription.updated", subscription, previous)];
}

/** invoice.created, invoice.finalized, the collection, and the status it leaves the subscription in. */
export function billInvoice(
  context: StripeContext,
  subscription: Subscription,
  invoice: Invoice,
  outcome: CollectOutcome,
): EmittedEvent[] {
  const emitted = [emitEvent(context, "invoice.created", invoice)];
  emitted.push(finalizeInvoice(context, invoice, customerOf(context, subscription)));
  emitted.push(...collectInvoice(context, invoice, outcome));
  emitted.push(...followLatestInvoice(context, subscription));
  return emitted;
}

export const periodEndOf = (subscription: Subscription): number =>
  Math.min(...subscription.items.data.map((item) => item.current_period_end));

function renew(context: StripeContext, subscription: Subscription, outcome: CollectOutcome): EmittedEvent[] {
  const previous = {
    items: { data: snapshot(subscription.items.data) },
    latest_invoice: subscription.latest_invoice,
  };
  const [first] = subscription.items.data;
  const looksBack = { start: first?.current_period_start ?? 0, end: first?.current_period_end ?? 0 };
  for (const item of subscription.items.data) {
    item.current_period_start = item.current_period_end;
    item.current_period_end = nextBoundary(
      subscription.billing_cycle_anchor,
      recurringOf(item.price),
      item.current_period_start,
    );
  }
  const invoice = draftFor(context, subscription, {
    billingReason: "subscription_cycle",
    lines: cycleLines(context, subscription),
    periodStartS: looksBack.start,
    periodEndS: looksBack.end,
  });
  const emitted = [emitEvent(context, "customer.subscription.updated", subscription, previous)];
  return [...emitted, ...billInvoice(context, subscription, invoice, outcome)];
}

export function cancelNow(
  context: StripeContext,
  subscription: Subscription,
  details: { comment?: string; feedback?: string } = {},
): EmittedEvent {
  const nowS = nowSeconds(context);
  subscription.status = "canceled";
  subscription.canceled_at = nowS;
  subscription.ended_at = nowS;
  subscription.cancellation_details = {
    comment: details.comment ?? subscription.cancellation_details.comment,
    feedback: details.feedback ?? subscription.cancellation_details.feedback,
    reason: "cancellation_requested",
  };
  return emitEvent(context, "customer.subscription.deleted", subscription);
}

/**
 * The current period is over: a subscription set to cancel at period end ends then
 * (`customer.subscription.deleted`); any other renews, its invoice collected with `outcome`.
 */
export function endPeriod(
  context: StripeContext,
  subscription: Subscription,
  outcome: CollectOutcome,
): { emitted: EmittedEvent[]; invoice: Invoice | null } {
  if (!subscription.cancel_at_period_end) {
    const emitted = renew(context, subscription, outcome);
    return { emitted, invoice: context.state.invoices.get(subscription.latest_invoice ?? "") ?? null };
  }
  subscription.status = "canceled";
  subscription.ended_at = periodEndOf(subscription);
  return { emitted: [emitEvent(context, "customer.subscription.deleted", subscription)], invoice: null };
}

/** Subscriptions whose period ended on the sandbox clock renew (paid) or end, period by period. */
export function renewDueSubscriptions(context: StripeContext): EmittedEvent[] {
  const emitted: EmittedEvent[] = [];
  const nowS = nowSeconds(context);
  for (const subscription of context.state.subscriptions.values()) {
    for (let step = 0; step < RENEWALS_PER_TICK_MAX; step += 1) {
      if (subscription.status === "canceled" || periodEndOf(subscription) > nowS) break;
      emitted.push(...endPeriod(context, subscription, "paid").emitted);
    }
  }
  return emitted;
}
