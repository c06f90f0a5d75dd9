// Everything the Stripe simulator remembers, plus the context every handler needs (clock, seeded ids,
// public URL). Plain maps: the sandbox lives for one test run or one `npm start`.
import type { Clock, QueuedDelivery } from "../http.ts";
import { type Random, randomId } from "../rng.ts";
import type { Customer, Invoice, InvoicePayment, Price, Product, Subscription } from "./billing-types.ts";
import type {
  Charge,
  CheckoutSession,
  Dispute,
  Metadata,
  PaymentIntent,
  Refund,
  StripeEvent,
  WebhookEndpointRecord,
} from "./types.ts";

/** The API version stripe-node 23 pins; events are rendered with it, like an account upgraded to it. */
export const STRIPE_API_VERSION = "2026-10-28.endive";

/** Stripe's test-mode ids are long; this is long enough to look alike and never collide in a run. */
const OBJECT_ID_CHARS = 24;

export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: string;
}

export interface StripeState {
  sessions: Map<string, CheckoutSession>;
  /** `payment_intent_data[metadata]` of each session: copied to its PaymentIntent and Charge once paid. */
  intentMetadata: Map<string, Metadata>;
  paymentIntents: Map<string, PaymentIntent>;
  charges: Map<string, Charge>;
  refunds: Map<string, Refund>;
  disputes: Map<string, Dispute>;
  products: Map<string, Product>;
  prices: Map<string, Price>;
  customers: Map<string, Customer>;
  /** Subscription-mode sessions: what the customer subscribes to once the session is paid. */
  sessionPlans: Map<string, SessionPlan>;
  subscriptions: Map<string, Subscription>;
  invoices: Map<string, Invoice>;
  invoicePayments: Map<string, InvoicePayment>;
  /** In creation order; `events.list` serves them newest first. */
  events: StripeEvent[];
  /** Events no endpoint subscribed to: never delivered, so `delivery_success` lists them under neither value. */
  unsent: Set<string>;
  endpoints: WebhookEndpointRecord[];
  /** Sessions whose customer pays while the merchant's expire call is in flight (scenario `pay` atExpire). */
  payAtExpire: Set<string>;
  idempotency: Map<string, StoredResponse>;
  /** numbers the `request-id` of each API answer */
  requestCount: number;
}

export interface SessionPlan {
  items: Array<{ price: string; quantity: number }>;
  /** `subscription_data[metadata]`: becomes the subscription's metadata. */
  metadata: Metadata;
  /** An existing customer the session was created for (`customer`); else Checkout creates one. */
  customer: string | null;
}

export function createStripeState(): StripeState {
  return {
    sessions: new Map(),
    intentMetadata: new Map(),
    paymentIntents: new Map(),
    charges: new Map(),
    refunds: new Map(),
    disputes: new Map(),
    products: new Map(),
    prices: new Map(),
    customers: new Map(),
    sessionPlans: new Map(),
    subscriptions: new Map(),
    invoices: new Map(),
    invoicePayments: new Map(),
    events: [],
    unsent: new Set(),
    endpoints: [],
    payAtExpire: new Set(),
    idempotency: new Map(),
    requestCount: 0,
  };
}

export function clearStripeState(state: StripeState): void {
  state.sessions.clear();
  state.intentMetadata.clear();
  state.paymentIntents.clear();
  state.charges.clear();
  state.refunds.clear();
  state.disputes.clear();
  state.products.clear();
  state.prices.clear();
  state.customers.clear();
  state.sessionPlans.clear();
  state.subscriptions.clear();
  state.invoices.clear();
  state.invoicePayments.clear();
  state.events.length = 0;
  state.unsent.clear();
  state.payAtExpire.clear();
  state.idempotency.clear();
}

export interface StripeContext {
  state: StripeState;
  clock: Clock;
  random: Random;
  /** Public base URL of the sandbox, for Checkout `url`s. */
  baseUrl(): string;
  /** The default endpoint secret: signs deliveries handed back to tests when no endpoint is registered. */
  webhookSecret: string;
  /** Hands a signed delivery to the core's delivery queue (or to the test that asked for it). */
  deliver(delivery: QueuedDelivery): void;
  /** How an event's webhook deliveries went so far (`events.list delivery_success`). */
  deliveryOutcome(eventId: string): DeliveryOutcome;
}

/** succeeded: some endpoint answered 2xx; failed: attempted, none did yet; none: never sent anywhere. */
export type DeliveryOutcome = "succeeded" | "failed" | "none";

export const nowSeconds = (context: StripeContext): number => Math.floor(context.clock() / 1000);

export const newId = (context: StripeContext, prefix: string): string =>
  randomId(context.random, prefix, OBJECT_ID_CHARS);

/** A deep copy, so an event keeps the object as it was when the event happened. */
export const snapshot = <T>(value: T): T => structuredClone(value);
