// `POST /v1/subscriptions/:id`: a plan change (`items[n][id]` with a new `price` and/or `quantity`),
// `cancel_at_period_end`, `metadata`. A plan change is prorated at `proration_date` (default now) with
// `proration_behavior=always_invoice`: one invoice (billing_reason `subscription_update`) with, per changed
// item, a credit "Unused time on <old>" and a debit "Remaining time on <new>" (periods.ts prorate), paid at
// once; `none` changes the plan and bills nothing until the renewal. The events: one
// `customer.subscription.updated` (previous_attributes: what changed), then the invoice's as at a renewal.
//
// Not simulated, and refused as Stripe refuses a parameter it cannot take: `create_prorations` (Stripe's
// default, which leaves pending invoice items for the next invoice) and so an item change without
// `proration_behavior`; adding or deleting items, `price_data`, a price of another currency or billing
// interval, `billing_cycle_anchor=now`, `cancel_at`, and any change to a canceled subscription but its
// metadata.
import type { SandboxResponse } from "../http.ts";
import type { Price, Subscription, SubscriptionItem } from "./billing-types.ts";
import { invalidParam, missingResource, stripeError } from "./errors.ts";
import { emitEvent } from "./events.ts";
import { withExpansions } from "./expand.ts";
import { type FormObject, formList, formObject, formString } from "./form.ts";
import { isResponse } from "./handler.ts";
import type { LineDraft } from "./invoices.ts";
import { prorate, prorationDescription } from "./periods.ts";
import { planOf, productName } from "./prices.ts";
import { nowSeconds, type StripeContext, snapshot } from "./state.ts";
import { billInvoice, draftFor, periodEndOf, recurringOf } from "./subscriptions.ts";

const PRORATION_BEHAVIORS = ["always_invoice", "create_prorations", "none"];
const SIMULATED_BEHAVIORS = new Set(["always_invoice", "none"]);
/** Decimal places of a proration's unrounded unit amount (`pricing.unit_amount_decimal`). */
const UNIT_DECIMAL_PLACES = 12;

interface ItemChange {
  item: SubscriptionItem;
  price: Price;
  quantity: number;
}

const refuse = (param: string, message: string, code = "parameter_invalid"): SandboxResponse =>
  invalidParam(param, message, code);

function parseItem(
  context: StripeContext,
  subscription: Subscription,
  raw: unknown,
  index: number,
): ItemChange | SandboxResponse {
  const entry = formObject(raw as FormObject[string]);
  const param = `items[${index}]`;
  const id = formString(entry?.id);
  if (!entry || id === undefined)
    return refuse(
      `${param}[id]`,
      "This sandbox changes existing items only: `id` is required.",
      "parameter_missing",
    );
  for (const unsupported of ["deleted", "price_data", "clear_usage"])
    if (entry[unsupported] !== undefined)
      return refuse(`${param}[${unsupported}]`, `\`${unsupported}\` is not simulated by this sandbox.`);
  const item = subscription.items.data.find((candidate) => candidate.id === id);
  if (!item)
    return stripeError({
      status: 400,
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such subscription item: '${id}'`,
      param: `${param}[id]`,
    });
  const priceId = formString(entry.price) ?? item.price.id;
  const price = context.state.prices.get(priceId);
  if (!price)
    return stripeError({
      status: 400,
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such price: '${priceId}'`,
      param: `${param}[price]`,
    });
  const current = recurringOf(item.price);
  if (
    price.currency !== item.price.currency ||
    price.recurring?.interval !== current.interval ||
    price.recurring.interval_count !== current.interval_count
  )
    return refuse(
      `${param}[price]`,
      "This sandbox prorates within one billing period: the new price must have the item's currency, `recurring.interval` and `recurring.interval_count`.",
    );
  const quantityRaw = formString(entry.quantity);
  const quantity = quantityRaw === undefined ? item.quantity : Number(quantityRaw);
  if (!Number.isSafeInteger(quantity) || quantity < 1)
    return refuse(`${param}[quantity]`, "Invalid integer", "parameter_invalid_integer");
  return { item, price, quantity };
}

function parseChanges(
  context: StripeContext,
  subscription: Subscription,
  form: FormObject,
): ItemChange[] | SandboxResponse {
  const changes: ItemChange[] = [];
  for (const [index, raw] of (formList(form.items) ?? []).entries()) {
    const change = parseItem(context, subscription, raw, index);
    if (isResponse(change)) return change;
    if (change.price.id !== change.item.price.id || change.quantity !== change.item.quantity)
      changes.push(change);
  }
  return changes;
}

function unitDecimal(unitAmount: number, remainingS: number, periodS: number): string {
  return ((unitAmount * remainingS) / periodS).toFixed(UNIT_DECIMAL_PLACES).replace(/\.?0+$/, "");
}

/** The line that billed the item's current period: what a credit proration credits. */
function debitLineOf(context: StripeContext, item: SubscriptionItem) {
  for (const invoice of [...context.state.invoices.values()].reverse()) {
    const line = invoice.lines.data.find(
      (candidate) =>
        candidate.parent.subscription_item_details.subscription_item === item.id &&
        candidate.amount > 0 &&
        candidate.period.end === item.current_period_end,
    );
    if (line) return { invoice: invoice.id, invoice_line_items: [line.id] };
  }
  return null;
}

function prorationLines(context: StripeContext, change: ItemChange, atS: number): LineDraft[] {
  const { item, price, quantity } = change;
  const start = Math.max(atS, item.current_period_start);
  const periodS = item.current_period_end - item.current_period_start;
  const remainingS = item.current_period_end - start;
  const period = { start, end: item.current_period_end };
  const credit: LineDraft = {
    amount: -prorate(item.price.unit_amount * item.quantity, remainingS, periodS),
    description: prorationDescription("Unused", item.quantity, productName(context, item.price), start),
    subscriptionItem: item.id,
    price: item.price,
    quantity: item.quantity,
    period,
    proration: true,
    unitAmountDecimal: `-${unitDecimal(item.price.unit_amount, remainingS, periodS)}`,
    creditedItems: debitLineOf(context, item),
  };
  const debit: LineDraft = {
    amount: prorate(price.unit_amount * quantity, remainingS, periodS),
    description: prorationDescription("Remaining", quantity, productName(context, price), start),
    subscriptionItem: item.id,
    price,
    quantity,
    period,
    proration: true,
    unitAmountDecimal: unitDecimal(price.unit_amount, remainingS, periodS),
  };
  return [credit, debit];
}

function prorationDate(form: FormObject, subscription: Subscription, nowS: number): number | SandboxResponse {
  const raw = formString(form.proration_date);
  if (raw === undefined) return nowS;
  const atS = Number(raw);
  const [item] = subscription.items.data;
  if (!Number.isInteger(atS) || !item || atS < item.current_period_start || atS > item.current_period_end)
    return refuse(
      "proration_date",
      "The proration date must be within the subscription's current billing period.",
    );
  return atS;
}

/** `cancel_at_period_end`: absent, a boolean, or the refusal of anything else. */
function cancelFlag(form: FormObject): boolean | undefined | SandboxResponse {
  const raw = formString(form.cancel_at_period_end);
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false")
    return refuse("cancel_at_period_end", "Invalid boolean: must be true or false");
  return raw === "true";
}

function applyCancelFlag(
  context: StripeContext,
  subscription: Subscription,
  flag: boolean,
  previous: Record<string, unknown>,
) {
  if (flag === subscription.cancel_at_period_end) return;
  Object.assign(previous, {
    cancel_at: subscription.cancel_at,
    cancel_at_period_end: subscription.cancel_at_period_end,
    canceled_at: subscription.canceled_at,
    cancellation_details: snapshot(subscription.cancellation_details),
  });
  subscription.cancel_at_period_end = flag;
  subscription.cancel_at = flag ? periodEndOf(subscription) : null;
  subscription.canceled_at = flag ? nowSeconds(context) : null;
  subscription.cancellation_details.reason = flag ? "cancellation_requested" : null;
}

function applyMetadata(subscription: Subscription, form: FormObject, previous: Record<string, unknown>) {
  const metadata = formObject(form.metadata);
  if (!metadata) return;
  previous.metadata = { ...subscription.metadata };
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") continue;
    if (value === "") delete subscription.metadata[key];
    else subscription.metadata[key] = value;
  }
}

function unsupported(
  form: FormObject,
  subscription: Subscription,
  hasItems: boolean,
): SandboxResponse | null {
  if (formString(form.billing_cycle_anchor) === "now")
    return refuse("billing_cycle_anchor", "`billing_cycle_anchor=now` is not simulated by this sandbox.");
  if (form.cancel_at !== undefined)
    return refuse("cancel_at", "`cancel_at` is not simulated by this sandbox; use `cancel_at_period_end`.");
  const behavior = formString(form.proration_behavior);
  if (behavior !== undefined && !PRORATION_BEHAVIORS.includes(behavior))
    return refuse(
      "proration_behavior",
      `Invalid proration_behavior: must be one of ${PRORATION_BEHAVIORS.join(", ")}`,
    );
  if (hasItems && (behavior === undefined || !SIMULATED_BEHAVIORS.has(behavior)))
    return refuse(
      "proration_behavior",
      "This sandbox simulates `proration_behavior=always_invoice` and `none` only; pass one of them (`create_prorations`, Stripe's default, leaves pending invoice items it does not simulate).",
    );
  if (subscription.status === "canceled" && (hasItems || form.cancel_at_period_end !== undefined))
    return stripeError({
      status: 400,
      type: "invalid_request_error",
      message: "A canceled subscription can only update its cancellation_details and metadata.",
    });
  return null;
}

export function updateSubscriptionRoute(
  context: StripeContext,
  form: FormObject,
  id: string,
): object | SandboxResponse {
  const subscription = context.state.subscriptions.get(id);
  if (!subscription) return missingResource("subscription", id, "id");
  const refused = unsupported(form, subscription, form.items !== undefined);
  if (refused) return refused;
  const changes = parseChanges(context, subscription, form);
  if (!Array.isArray(changes)) return changes;
  const atS = prorationDate(form, subscription, nowSeconds(context));
  if (typeof atS !== "number") return atS;
  const flag = cancelFlag(form);
  if (typeof flag === "object") return flag;
  const previous: Record<string, unknown> = {};
  const invoiced = formString(form.proration_behavior) === "always_invoice";
  const lines = invoiced ? changes.flatMap((change) => prorationLines(context, change, atS)) : [];
  if (changes.length > 0) previous.items = { data: snapshot(subscription.items.data) };
  for (const { item, price, quantity } of changes) {
    item.price = price;
    item.plan = planOf(price, recurringOf(price));
    item.quantity = quantity;
  }
  if (flag !== undefined) applyCancelFlag(context, subscription, flag, previous);
  applyMetadata(subscription, form, previous);
  const periodStartS = subscription.items.data[0]?.current_period_start ?? atS;
  if (lines.length > 0) previous.latest_invoice = subscription.latest_invoice;
  const invoice =
    lines.length > 0
      ? draftFor(context, subscription, {
          billingReason: "subscription_update",
          lines,
          periodStartS,
          periodEndS: atS,
        })
      : null;
  if (Object.keys(previous).length > 0)
    emitEvent(context, "customer.subscription.updated", subscription, previous);
  if (invoice) billInvoice(context, subscription, invoice, "paid");
  return withExpansions(context.state, form, subscription);
}
