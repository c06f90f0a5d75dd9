// Stripe objects as the sandbox stores and serves them: field names and shapes follow Stripe's API
// reference (snake_case, unix seconds, lower-case currency, `livemode: false`), so JSON.stringify of a
// record is the wire format.

export type Metadata = Record<string, string>;

export interface CheckoutSession {
  id: string;
  object: "checkout.session";
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  /** The customer a subscription-mode session subscribed; null in payment mode. */
  customer: string | null;
  customer_details: { email: string | null; name: string | null } | null;
  customer_email: string | null;
  expires_at: number;
  /** A subscription-mode session's first invoice, once paid. */
  invoice: string | null;
  livemode: false;
  metadata: Metadata;
  mode: "payment" | "subscription";
  payment_intent: string | null;
  payment_method_types: string[];
  payment_status: "paid" | "unpaid" | "no_payment_required";
  status: "open" | "complete" | "expired";
  subscription: string | null;
  success_url: string | null;
  /** What a promotion code took off `amount_subtotal`; shipping and tax are always 0 here. */
  total_details: { amount_discount: number; amount_shipping: number; amount_tax: number };
  ui_mode: "hosted";
  url: string | null;
}

export interface PaymentIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_received: number;
  canceled_at: number | null;
  cancellation_reason: string | null;
  /** What the client confirms with (Payment Element); Checkout's own intents have one too. */
  client_secret: string;
  created: number;
  currency: string;
  /** An invoice's intent charges the invoice's customer; other intents here have none. */
  customer: string | null;
  description: string | null;
  /** Why the last confirmation failed (a declined card); null after a success. */
  last_payment_error: { type: "card_error"; code: string; decline_code: string; message: string } | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Metadata;
  status: "processing" | "succeeded" | "requires_payment_method" | "canceled";
}

export interface Refund {
  id: string;
  object: "refund";
  amount: number;
  balance_transaction: string | null;
  charge: string;
  created: number;
  currency: string;
  metadata: Metadata;
  payment_intent: string;
  reason: string | null;
  status: "pending" | "succeeded" | "failed" | "canceled";
}

export interface StripeList<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  url: string;
  total_count?: number;
}

export interface Charge {
  id: string;
  object: "charge";
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: true;
  created: number;
  currency: string;
  customer: string | null;
  disputed: boolean;
  livemode: false;
  metadata: Metadata;
  paid: boolean;
  payment_intent: string;
  refunded: boolean;
  refunds: StripeList<Refund>;
  status: "succeeded" | "pending" | "failed";
}

/** A chargeback against a charge; every change to it is a `charge.dispute.*` event carrying it whole. */
export interface Dispute {
  id: string;
  object: "dispute";
  amount: number;
  balance_transactions: unknown[];
  charge: string;
  created: number;
  currency: string;
  evidence_details: { due_by: number; has_evidence: boolean; past_due: boolean; submission_count: number };
  is_charge_refundable: boolean;
  livemode: false;
  metadata: Metadata;
  payment_intent: string;
  reason: string;
  status: "warning_needs_response" | "needs_response" | "under_review" | "won" | "lost";
}

export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  data: { object: unknown; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export interface WebhookEndpoint {
  id: string;
  object: "webhook_endpoint";
  api_version: string | null;
  application: null;
  created: number;
  description: string | null;
  enabled_events: string[];
  livemode: false;
  metadata: Metadata;
  status: "enabled" | "disabled";
  url: string;
}

/** The signing secret is returned only when the endpoint is created, as Stripe does. */
export interface WebhookEndpointRecord {
  endpoint: WebhookEndpoint;
  secret: string;
}
