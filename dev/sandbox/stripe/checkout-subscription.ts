// Checkout Sessions in subscription mode: created with recurring prices (`line_items[n][price]`,
// `quantity`, `subscription_data[metadata]`, optionally an existing `customer`), and paid. Paying one
// creates what Stripe creates, in the order it emits the events: the customer (`customer.created`,
// unless the session named one), the subscription (`customer.subscription.created`, active), its first
// invoice (`invoice.created`, `invoice.finalized`, billing_reason `subscription_create`), the invoice's
// PaymentIntent and Charge (`payment_intent.created`, `charge.succeeded`, `payment_intent.succeeded`),
// `invoice_payment.paid`, `invoice.paid`, `invoice.payment_succeeded`, and last
// `checkout.session.completed`, whose session names the subscription, the invoice and the customer and
// has no `payment_intent`.
import type { Price } from "./billing-types.ts";
import { createCustomer } from "./customers.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { type FormObject, formList, formObject, formString, formStringMap } from "./form.ts";
import type { SessionPlan, StripeContext } from "./state.ts";
import { billInvoice, cycleLines, draftFor, startSubscription } from "./subscriptions.ts";
import type { CheckoutSession } from "./types.ts";

type Refusal = { param: string; message: string; code?: string };

export interface SubscriptionTotal {
  amountMinor: number;
  currency: string;
  plan: SessionPlan;
}

function lineItem(
  context: StripeContext,
  raw: unknown,
  index: number,
): { price: Price; quantity: number } | Refusal {
  const item = formObject(raw as FormObject[string]);
  const param = `line_items[${index}]`;
  const priceId = formString(item?.price);
  if (!item || priceId === undefined)
    return {
      param: `${param}[price]`,
      message: "This sandbox supports `line_items` with `price` in `subscription` mode.",
    };
  const price = context.state.prices.get(priceId);
  if (!price)
    return { param: `${param}[price]`, message: `No such price: '${priceId}'`, code: "resource_missing" };
  if (!price.recurring)
    return {
      param: `${param}[price]`,
      message:
        "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
    };
  const quantity = Number(formString(item.quantity) ?? "1");
  if (!Number.isSafeInteger(quantity) || quantity < 1)
    return { param: `${param}[quantity]`, message: "Invalid integer", code: "parameter_invalid_integer" };
  return { price, quantity };
}

/** `mode=subscription` parameters → the session's amount and what it subscribes to, or the first refusal. */
export function subscriptionSessionInput(
  context: StripeContext,
  form: FormObject,
): SubscriptionTotal | Refusal {
  if (form.payment_intent_data !== undefined)
    return {
      param: "payment_intent_data",
      message: "You can not pass `payment_intent_data` in `subscription` mode.",
    };
  const raw = formList(form.line_items);
  if (!raw || raw.length === 0)
    return {
      param: "line_items",
      message: "You must specify `line_items` in `subscription` mode.",
      code: "parameter_missing",
    };
  const items: Array<{ price: Price; quantity: number }> = [];
  for (const [index, entry] of raw.entries()) {
    const item = lineItem(context, entry, index);
    if ("param" in item) return item;
    const first = items[0]?.price;
    if (first && first.currency !== item.price.currency)
      return {
        param: `line_items[${index}][price]`,
        message: "All prices on a subscription must have the same `currency`.",
      };
    if (
      first &&
      (first.recurring?.interval !== item.price.recurring?.interval ||
        first.recurring?.interval_count !== item.price.recurring?.interval_count)
    )
      return {
        param: `line_items[${index}][price]`,
        message:
          "All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.",
      };
    items.push(item);
  }
  const customer = formString(form.customer) ?? null;
  if (customer !== null && !context.state.customers.has(customer))
    return { param: "customer", message: `No such customer: '${customer}'`, code: "resource_missing" };
  return {
    amountMinor: items.reduce((sum, item) => sum + item.price.unit_amount * item.quantity, 0),
    currency: items[0]?.price.currency ?? "usd",
    plan: {
      items: items.map((item) => ({ price: item.price.id, quantity: item.quantity })),
      metadata: formStringMap(formObject(form.subscription_data)?.metadata),
      customer,
    },
  };
}

/** The customer paid a subscription-mode session (its status and customer_details already set). */
export function completeSubscriptionSession(
  context: StripeContext,
  session: CheckoutSession,
): EmittedEvent[] {
  const plan = context.state.sessionPlans.get(session.id);
  if (!plan) throw new Error(`subscription session ${session.id} has no plan`);
  const emitted: EmittedEvent[] = [];
  let customer = plan.customer === null ? undefined : context.state.customers.get(plan.customer);
  if (!customer) {
    const created = createCustomer(context, {
      email: session.customer_details?.email ?? null,
      name: session.customer_details?.name ?? null,
    });
    customer = created.customer;
    emitted.push(created.emitted);
  }
  const items = plan.items.map(({ price, quantity }) => {
    const found = context.state.prices.get(price);
    if (!found) throw new Error(`session ${session.id} names unknown price ${price}`);
    return { price: found, quantity };
  });
  const subscription = startSubscription(context, { customer, items, metadata: { ...plan.metadata } });
  const nowS = subscription.start_date;
  const invoice = draftFor(context, subscription, {
    billingReason: "subscription_create",
    lines: cycleLines(context, subscription),
    periodStartS: nowS,
    periodEndS: nowS,
  });
  emitted.push(emitEvent(context, "customer.subscription.created", subscription));
  emitted.push(...billInvoice(context, subscription, invoice, "paid"));
  session.customer = customer.id;
  session.subscription = subscription.id;
  session.invoice = invoice.id;
  session.payment_status = invoice.amount_due === 0 ? "no_payment_required" : "paid";
  emitted.push(emitEvent(context, "checkout.session.completed", session));
  return emitted;
}
