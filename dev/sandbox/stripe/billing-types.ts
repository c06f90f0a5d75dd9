// Stripe Billing objects as the sandbox stores and serves them (prices, customers, subscriptions,
// invoices, invoice payments), in the shapes of the API version the sandbox renders (STRIPE_API_VERSION,
// "basil" or later): an invoice names its subscription under `parent.subscription_details`, its payments
// are `invoice_payment` objects, and billing periods live on each subscription item. Fields the sandbox
// never fills are there with Stripe's empty value, so the JSON is the wire format.
import type { Metadata, StripeList } from "./types.ts";

export type RecurringInterval = "day" | "week" | "month" | "year";

export interface Recurring {
  interval: RecurringInterval;
  interval_count: number;
  meter: null;
  trial_period_days: null;
  usage_type: "licensed";
}

export interface Product {
  id: string;
  object: "product";
  active: true;
  created: number;
  description: null;
  livemode: false;
  metadata: Metadata;
  name: string;
  type: "service";
  updated: number;
}

export interface Price {
  id: string;
  object: "price";
  active: true;
  billing_scheme: "per_unit";
  created: number;
  currency: string;
  custom_unit_amount: null;
  livemode: false;
  lookup_key: null;
  metadata: Metadata;
  nickname: null;
  product: string;
  recurring: Recurring | null;
  tax_behavior: "unspecified";
  tiers_mode: null;
  transform_quantity: null;
  type: "one_time" | "recurring";
  unit_amount: number;
  unit_amount_decimal: string;
}

/** The legacy view of a recurring price that subscription items still carry next to `price`. */
export interface Plan {
  id: string;
  object: "plan";
  active: true;
  amount: number;
  amount_decimal: string;
  billing_scheme: "per_unit";
  created: number;
  currency: string;
  interval: RecurringInterval;
  interval_count: number;
  livemode: false;
  metadata: Metadata;
  meter: null;
  nickname: null;
  product: string;
  tiers_mode: null;
  transform_usage: null;
  trial_period_days: null;
  usage_type: "licensed";
}

export interface Customer {
  id: string;
  object: "customer";
  /** Negative: credit the next invoices use up (a downgrade's proration credit lands here). */
  balance: number;
  created: number;
  default_source: null;
  delinquent: boolean;
  description: null;
  email: string | null;
  invoice_prefix: string;
  invoice_settings: {
    custom_fields: null;
    default_payment_method: null;
    footer: null;
    rendering_options: null;
  };
  livemode: false;
  metadata: Metadata;
  name: string | null;
  next_invoice_sequence: number;
  phone: null;
  preferred_locales: string[];
  shipping: null;
  tax_exempt: "none";
  test_clock: null;
}

export interface SubscriptionItem {
  id: string;
  object: "subscription_item";
  billing_thresholds: null;
  created: number;
  current_period_end: number;
  current_period_start: number;
  discounts: string[];
  metadata: Metadata;
  plan: Plan;
  price: Price;
  quantity: number;
  subscription: string;
  tax_rates: [];
}

export type SubscriptionStatus = "active" | "past_due" | "canceled";

export interface Subscription {
  id: string;
  object: "subscription";
  application: null;
  application_fee_percent: null;
  automatic_tax: { disabled_reason: null; enabled: false; liability: null };
  billing_cycle_anchor: number;
  billing_cycle_anchor_config: null;
  billing_mode: { flexible: { proration_discounts: "included" }; type: "flexible"; updated_at: number };
  billing_thresholds: null;
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  cancellation_details: { comment: string | null; feedback: string | null; reason: string | null };
  collection_method: "charge_automatically";
  created: number;
  currency: string;
  customer: string;
  days_until_due: null;
  default_payment_method: null;
  default_source: null;
  description: null;
  discounts: string[];
  ended_at: number | null;
  invoice_settings: { account_tax_ids: null; issuer: { type: "self" } };
  items: StripeList<SubscriptionItem>;
  latest_invoice: string | null;
  livemode: false;
  metadata: Metadata;
  next_pending_invoice_item_invoice: null;
  on_behalf_of: null;
  pause_collection: null;
  payment_settings: null;
  pending_invoice_item_interval: null;
  pending_setup_intent: null;
  pending_update: null;
  schedule: null;
  start_date: number;
  status: SubscriptionStatus;
  test_clock: null;
  transfer_data: null;
  trial_end: null;
  trial_settings: null;
  trial_start: null;
}

export type BillingReason = "subscription_create" | "subscription_cycle" | "subscription_update";

export interface InvoiceLineItem {
  id: string;
  object: "line_item";
  amount: number;
  currency: string;
  description: string;
  discount_amounts: [];
  discountable: boolean;
  discounts: [];
  invoice: string;
  livemode: false;
  metadata: Metadata;
  parent: {
    invoice_item_details: null;
    subscription_item_details: {
      /** Set for a proration: the invoice item Stripe created for it. */
      invoice_item: string | null;
      proration: boolean;
      proration_details: {
        credited_items: { invoice: string; invoice_line_items: string[] } | null;
      };
      subscription: string;
      subscription_item: string;
    };
    type: "subscription_item_details";
  };
  period: { end: number; start: number };
  pretax_credit_amounts: [];
  pricing: {
    price_details: { price: string; product: string };
    type: "price_details";
    unit_amount_decimal: string;
  };
  quantity: number;
  subscription: string;
  subtotal: number;
  taxes: [];
}

export type InvoiceStatus = "draft" | "open" | "paid";

export interface Invoice {
  id: string;
  object: "invoice";
  account_country: string;
  account_name: string;
  account_tax_ids: null;
  amount_due: number;
  amount_overpaid: 0;
  amount_paid: number;
  amount_remaining: number;
  amount_shipping: 0;
  application: null;
  attempt_count: number;
  attempted: boolean;
  auto_advance: boolean;
  automatic_tax: { disabled_reason: null; enabled: false; liability: null; provider: null; status: null };
  automatically_finalizes_at: null;
  billing_reason: BillingReason;
  collection_method: "charge_automatically";
  created: number;
  currency: string;
  custom_fields: null;
  customer: string;
  customer_address: null;
  customer_email: string | null;
  customer_name: string | null;
  customer_phone: null;
  customer_shipping: null;
  customer_tax_exempt: "none";
  default_payment_method: null;
  default_source: null;
  default_tax_rates: [];
  description: null;
  discounts: [];
  due_date: null;
  effective_at: number | null;
  ending_balance: number | null;
  footer: null;
  from_invoice: null;
  hosted_invoice_url: null;
  invoice_pdf: null;
  issuer: { type: "self" };
  last_finalization_error: null;
  latest_revision: null;
  lines: StripeList<InvoiceLineItem>;
  livemode: false;
  metadata: Metadata;
  next_payment_attempt: null;
  number: string | null;
  on_behalf_of: null;
  parent: {
    quote_details: null;
    subscription_details: { metadata: Metadata; subscription: string };
    type: "subscription_details";
  };
  payment_settings: { default_mandate: null; payment_method_options: null; payment_method_types: null };
  /** The usage period the invoice looks back on; each line's `period` is what it bills. */
  period_end: number;
  period_start: number;
  post_payment_credit_notes_amount: 0;
  pre_payment_credit_notes_amount: 0;
  receipt_number: null;
  rendering: null;
  shipping_cost: null;
  shipping_details: null;
  starting_balance: number;
  statement_descriptor: null;
  status: InvoiceStatus;
  status_transitions: {
    finalized_at: number | null;
    marked_uncollectible_at: null;
    paid_at: number | null;
    voided_at: null;
  };
  subtotal: number;
  subtotal_excluding_tax: number;
  test_clock: null;
  total: number;
  total_discount_amounts: [];
  total_excluding_tax: number;
  total_pretax_credit_amounts: [];
  total_taxes: [];
  webhooks_delivered_at: null;
}

/** One payment of an invoice: here always its default payment, a PaymentIntent. */
export interface InvoicePayment {
  id: string;
  object: "invoice_payment";
  amount_paid: number | null;
  amount_requested: number;
  created: number;
  currency: string;
  invoice: string;
  is_default: true;
  livemode: false;
  payment: { payment_intent: string; type: "payment_intent" };
  status: "open" | "paid";
  status_transitions: { canceled_at: null; paid_at: number | null };
}
