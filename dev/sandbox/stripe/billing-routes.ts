// The Stripe Billing routes of the sandbox's API: prices and products, customers, subscriptions (read,
// list, update, cancel), invoices and their lines, invoice payments. Mounted into api.ts's route table,
// behind the same authentication, idempotency and API faults as every other `/v1` route.
import { missingResource } from "./errors.ts";
import { withExpansions } from "./expand.ts";
import type { Route } from "./handler.ts";
import { getInvoicePayment, listInvoicePayments } from "./invoice-payments.ts";
import { getInvoice, getInvoiceLines, listInvoices } from "./invoices.ts";
import { createPriceFromForm } from "./prices.ts";
import { cancelSubscriptionRoute, getSubscription, listSubscriptions } from "./subscription-routes.ts";
import { updateSubscriptionRoute } from "./subscription-update.ts";

export const BILLING_ROUTES: Route[] = [
  { method: "POST", pattern: /^\/v1\/prices$/, handler: createPriceFromForm },
  {
    method: "GET",
    pattern: /^\/v1\/prices\/([^/]+)$/,
    handler: (c, form, id) => {
      const price = c.state.prices.get(id);
      return price ? withExpansions(c.state, form, price) : missingResource("price", id, "price");
    },
  },
  {
    method: "GET",
    pattern: /^\/v1\/products\/([^/]+)$/,
    handler: (c, _f, id) => c.state.products.get(id) ?? missingResource("product", id, "id"),
  },
  {
    method: "GET",
    pattern: /^\/v1\/customers\/([^/]+)$/,
    handler: (c, _f, id) => c.state.customers.get(id) ?? missingResource("customer", id, "customer"),
  },
  { method: "GET", pattern: /^\/v1\/subscriptions$/, handler: listSubscriptions },
  { method: "GET", pattern: /^\/v1\/subscriptions\/([^/]+)$/, handler: getSubscription },
  { method: "POST", pattern: /^\/v1\/subscriptions\/([^/]+)$/, handler: updateSubscriptionRoute },
  { method: "DELETE", pattern: /^\/v1\/subscriptions\/([^/]+)$/, handler: cancelSubscriptionRoute },
  { method: "GET", pattern: /^\/v1\/invoices$/, handler: listInvoices },
  { method: "GET", pattern: /^\/v1\/invoices\/([^/]+)$/, handler: getInvoice },
  { method: "GET", pattern: /^\/v1\/invoices\/([^/]+)\/lines$/, handler: getInvoiceLines },
  { method: "GET", pattern: /^\/v1\/invoice_payments$/, handler: listInvoicePayments },
  { method: "GET", pattern: /^\/v1\/invoice_payments\/([^/]+)$/, handler: getInvoicePayment },
];
