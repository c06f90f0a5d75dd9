// Customers: the one Checkout creates when a subscription-mode session is paid (`customer.created`),
// `GET /v1/customers/:id`, and the invoice numbers each customer's invoices take
// (`<invoice_prefix>-0001`, then -0002 ...).
import type { Customer } from "./billing-types.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";

const INVOICE_PREFIX_CHARS = 8;
const INVOICE_NUMBER_DIGITS = 4;

export function createCustomer(
  context: StripeContext,
  input: { email: string | null; name: string | null },
): { customer: Customer; emitted: EmittedEvent } {
  const customer: Customer = {
    id: newId(context, "cus_"),
    object: "customer",
    balance: 0,
    created: nowSeconds(context),
    default_source: null,
    delinquent: false,
    description: null,
    email: input.email,
    invoice_prefix: newId(context, "").slice(0, INVOICE_PREFIX_CHARS).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: {},
    name: input.name,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
  context.state.customers.set(customer.id, customer);
  return { customer, emitted: emitEvent(context, "customer.created", customer) };
}

/** The number an invoice gets when it is finalized. */
export function nextInvoiceNumber(customer: Customer): string {
  const number = `${customer.invoice_prefix}-${String(customer.next_invoice_sequence).padStart(INVOICE_NUMBER_DIGITS, "0")}`;
  customer.next_invoice_sequence += 1;
  return number;
}
