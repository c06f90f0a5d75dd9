/**
 * Domain vocabulary shared by every path that can settle an order. Pure data: no I/O, no clock, no
 * provider SDKs. Money is integer minor units plus an upper-case ISO 4217 currency; credits are integers;
 * time is epoch milliseconds (UTC) passed in by the caller.
 */

export type Provider = "stripe" | "wechatpay";

/** Which path produced a fact. Recorded on the order timeline so operators can see how money arrived. */
export type SettleSource = "webhook" | "reconcile" | "confirm" | "admin";

export type OrderStatus =
  | "pending"
  | "fulfilled"
  | "partially_refunded"
  | "refunded"
  | "expired"
  | "failed"
  | "needs_review";

export type DisputeState = "open" | "won" | "lost";
/**
 * What a dispute does to the order's credits: `claw_back` (default) takes them back as a `dispute` ledger
 * entry while the dispute is open or lost, even into a negative balance, and gives them back once if it
 * is won; `notify` only raises the incident.
 */
export type DisputePolicy = "claw_back" | "notify";

/**
 * What a payment carries about the order it claims to pay (Stripe metadata / client_reference_id, WeChat
 * `attach`). `userId` + `packageId` can rebuild a lost order; every field that disagrees with the order
 * on record puts it in review (the order is decided by references payguard's server side wrote).
 */
export interface OrderMetadata {
  userId?: string;
  packageId?: string;
  orderId?: string;
  clientReferenceId?: string;
}

/**
 * What a provider told us about one order, normalised. Built only from verified input. The final state
 * of an order depends only on the set of these facts, never on their arrival order or count.
 */
export type PaymentFact =
  | {
      kind: "paid";
      provider: Provider;
      orderId: string;
      /** Provider object that carries the payment: payment intent, WeChat transaction_id. */
      paymentRef: string;
      /** Amount actually paid; a match needs amountMinor + discountMinor = the order's amount. */
      amountMinor: number;
      /** What a provider-side discount took off the price (Stripe `total_details.amount_discount`). */
      discountMinor?: number;
      currency: string;
      paidAtMs: number;
      /** The provider object payguard's server side opened for the order (Checkout Session id). */
      providerRef?: string;
      metadata?: OrderMetadata;
      /** The provider reports this payment (partly) refunded already (WeChat trade_state REFUND). */
      refundedAtProvider?: boolean;
    }
  | {
      kind: "pending";
      provider: Provider;
      orderId: string;
      /** The provider's own word for the unpaid state (WeChat trade_state), when it gave one. */
      providerState?: string;
    }
  | { kind: "failed"; provider: Provider; orderId: string; reason: string }
  | { kind: "expired"; provider: Provider; orderId: string }
  | {
      kind: "refunded";
      provider: Provider;
      /** Our order id when the provider names it (WeChat out_trade_no, Stripe metadata); else found by paymentRef. */
      orderId: string | null;
      /** The payment this refunds (Stripe payment intent, WeChat transaction_id), when known. */
      paymentRef: string | null;
      /** Provider refund id: the idempotency key of the clawback. */
      refundRef: string;
      /** Amount of this refund (not cumulative). */
      amountMinor: number;
      currency: string;
      refundedAtMs: number;
    }
  | {
      /** A refund the provider reports as failed: its clawback, if any, is reversed once. */
      kind: "refund_failed";
      provider: Provider;
      orderId: string | null;
      paymentRef: string | null;
      refundRef: string;
    }
  | {
      /**
       * The customer completed checkout with a method that settles later (Stripe Checkout Session
       * `complete` with `payment_status: unpaid`): the order keeps its stock until `untilMs`, when the
       * async result (succeeded / failed) must have come.
       */
      kind: "awaiting_payment";
      provider: Provider;
      orderId: string;
      paymentRef: string | null;
      untilMs: number;
    }
  | {
      /**
       * A chargeback (Stripe `charge.dispute.*`). `state` is where the dispute stands: `open` until the
       * bank decides, then `won` (funds reinstated) or `lost`. What it does to credits is `policy`.
       */
      kind: "disputed";
      provider: Provider;
      orderId: string | null;
      paymentRef: string;
      disputeRef: string;
      amountMinor: number;
      currency: string;
      state: DisputeState;
      policy: DisputePolicy;
    }
  | {
      /** Verified, but contradicts our records (wrong merchant/app); never credits. */
      kind: "mismatch";
      provider: Provider;
      orderId: string;
      reason: string;
    };

export type PaymentOutcome =
  | "fulfilled"
  | "duplicate"
  | "mismatch"
  | "late_payment"
  | "created_from_metadata"
  | "needs_review"
  | "held"
  | "unknown_order";

export type RefundOutcome =
  | "refunded"
  | "partially_refunded"
  | "duplicate"
  | "needs_review"
  | "held"
  | "refund_failed"
  | "recorded"
  | "unknown_order";

export type DisputeOutcome = "disputed" | "dispute_won" | "dispute_lost" | "duplicate" | "held";

export type SettleOutcome =
  | PaymentOutcome
  | RefundOutcome
  | DisputeOutcome
  | "awaiting_payment"
  | "still_pending"
  | "expired"
  | "failed"
  | "needs_review"
  | "noop"
  /** A paid invoice the rule grants nothing for (a trial, a downgrade), or that no rule covers (incident). */
  | "nothing_granted"
  | "ungranted"
  /** A subscription report older than the one on record; `subscription_<status>` for one applied. */
  | "stale"
  | "unattributed"
  | `subscription_${string}`;

export interface SettleResult {
  /** Null when the fact is held and names no order (a refund matched only by a payment not seen yet). */
  orderId: string | null;
  outcome: SettleOutcome;
  status: OrderStatus | null;
}

export interface Order {
  id: string;
  userId: string;
  packageId: string;
  provider: Provider;
  status: OrderStatus;
  amountMinor: number;
  currency: string;
  credits: number;
  providerRef: string | null;
  paymentRef: string | null;
  /** What a discount took off the price when it was paid (0 without one). */
  discountMinor: number;
  createdAtMs: number;
  expiresAtMs: number;
  nextCheckAtMs: number | null;
  checkAttempts: number;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One line of a paid invoice, as the grant rule reads it (supabase/migrations/…_subscriptions.sql). */
export interface InvoiceLine {
  /** The Stripe price the line bills; a price that is no plan's leaves the invoice for a human. */
  priceRef: string | null;
  amountMinor: number;
  currency: string;
  quantity: number;
  /** A plan change's share of a period (negative for the unused rest of the old plan). */
  proration: boolean;
}

/**
 * What Stripe told us about a subscription. Neither fact needs an order to exist: a paid invoice writes
 * its own grant order (id = the invoice id), a state report its subscription row.
 */
export type SubscriptionFact =
  | {
      kind: "invoice_paid";
      provider: "stripe";
      invoiceRef: string;
      subscriptionRef: string;
      /** subscription_create, subscription_cycle, subscription_update, …: the rule grants per line. */
      billingReason: string | null;
      /** The invoice's PaymentIntent (refunds and disputes find the grant by it); null: the invoice itself. */
      paymentRef: string | null;
      /** Paid, without tax. */
      amountMinor: number;
      discountMinor: number;
      currency: string;
      paidAtMs: number;
      /** The service period of the invoice's lines (not Stripe's look-back `period_start`). */
      periodStartMs: number;
      periodEndMs: number;
      /** The subscription's metadata as payguard's checkout wrote it (user, plan). */
      metadata?: OrderMetadata;
      lines: InvoiceLine[];
    }
  | {
      kind: "subscription_state";
      provider: "stripe";
      subscriptionRef: string;
      /** Stripe's status: active, past_due, canceled, … */
      status: string;
      /** When Stripe reported it: an older report never overwrites a newer one. */
      reportedAtMs: number;
      currentPeriodStartMs: number | null;
      currentPeriodEndMs: number | null;
      cancelAtPeriodEnd: boolean;
      priceRef: string | null;
      metadata?: OrderMetadata;
    };

/** A fact as a provider event carries it: the order may be known only once the database locates it. */
export type EventFact =
  | (DistributiveOmit<PaymentFact, "orderId"> & { orderId: string | null })
  | (SubscriptionFact & { orderId: null });

/**
 * How the database finds the order a provider event is about: the order it stored for that provider object
 * (a Checkout Session, a payment) first, else the order id the event claims.
 */
export interface EventLocator {
  by: "session" | "payment" | null;
  ref: string | null;
  claimedOrderId: string | null;
}

/** One provider event, settled as one transaction (payguard.settle_event). */
export interface ProviderEvent {
  provider: Provider;
  eventId: string;
  eventType: string;
  locator: EventLocator;
  facts: EventFact[];
  /** Why an event with no facts is ignored (kept on its inbox row). */
  note?: string;
  source: SettleSource;
}

export type EventSettlement =
  | { status: "duplicate" }
  /** A fact needs an order and the database knows none; the inbox row stays unfinished. */
  | { status: "unlocated" }
  | { status: "done"; results: SettleResult[] };
