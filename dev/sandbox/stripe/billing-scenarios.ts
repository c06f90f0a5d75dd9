// Stripe Billing scenario steps that tests drive through `/_control/stripe/*`: define a price under a
// chosen id, end a subscription's period now (it renews, its invoice paid or declined, or it ends if set
// to cancel at period end), and collect an open invoice again (Stripe's retry, or the customer paying it
// with another card). Refusals are values, as in scenarios.ts.
import type { Price } from "./billing-types.ts";
import { collectInvoice, defaultPaymentOf } from "./invoice-payments.ts";
import { definePrice, type NewPrice } from "./prices.ts";
import { type ScenarioResult, stepEvents } from "./scenarios.ts";
import type { StripeContext } from "./state.ts";
import { endPeriod, followLatestInvoice } from "./subscriptions.ts";

export type BillingOutcome = "paid" | "failed";

type Billed = { invoiceId: string; paymentIntentId: string; eventIds: string[]; paymentEventIds: string[] };

export function price(
  context: StripeContext,
  input: NewPrice & { id: string },
): ScenarioResult<{ price: Price; eventIds: string[] }> {
  const defined = definePrice(context, input);
  return "error" in defined
    ? { ok: false, status: defined.conflict ? 409 : 400, error: defined.error }
    : { ok: true, price: defined.price, eventIds: [] };
}

const intentOf = (context: StripeContext, invoiceId: string): string =>
  defaultPaymentOf(context, invoiceId)?.payment.payment_intent ?? "";

/** The subscription's current period ends now, whatever the clock says. */
export function renew(
  context: StripeContext,
  input: { subscriptionId: string; outcome: BillingOutcome },
): ScenarioResult<Billed & { subscriptionId: string; subscriptionStatus: string }> {
  const subscription = context.state.subscriptions.get(input.subscriptionId);
  if (!subscription) return { ok: false, status: 404, error: `no such subscription ${input.subscriptionId}` };
  if (subscription.status === "canceled")
    return { ok: false, status: 409, error: `subscription ${subscription.id} is canceled` };
  const { emitted, invoice } = endPeriod(context, subscription, input.outcome);
  return {
    ok: true,
    subscriptionId: subscription.id,
    subscriptionStatus: subscription.status,
    invoiceId: invoice?.id ?? "",
    paymentIntentId: invoice ? intentOf(context, invoice.id) : "",
    ...stepEvents(emitted),
  };
}

/** Another attempt at an open invoice. */
export function payInvoice(
  context: StripeContext,
  input: { invoiceId: string; outcome: BillingOutcome },
): ScenarioResult<Billed> {
  const invoice = context.state.invoices.get(input.invoiceId);
  if (!invoice) return { ok: false, status: 404, error: `no such invoice ${input.invoiceId}` };
  if (invoice.status !== "open")
    return { ok: false, status: 409, error: `invoice ${invoice.id} is ${invoice.status}` };
  const subscription = context.state.subscriptions.get(invoice.parent.subscription_details.subscription);
  const emitted = collectInvoice(context, invoice, input.outcome);
  if (subscription) emitted.push(...followLatestInvoice(context, subscription));
  return {
    ok: true,
    invoiceId: invoice.id,
    paymentIntentId: intentOf(context, invoice.id),
    ...stepEvents(emitted),
  };
}
