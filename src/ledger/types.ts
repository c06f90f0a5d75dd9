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

/** Signed metadata carried by the provider (Stripe metadata, WeChat `attach`) to rebuild a lost order. */
export interface OrderMetadata {
  userId: string;
  packageId: string;
}

/** What a provider told us about one order, normalised. Built only from verified input. */
export type PaymentFact =
  | {
      kind: "paid";
      provider: Provider;
      orderId: string;
      /** Provider object that carries the payment: Checkout Session id, WeChat transaction_id. */
      paymentRef: string;
      amountMinor: number;
      currency: string;
      paidAtMs: number;
      metadata?: OrderMetadata;
    }
  | { kind: "pending"; provider: Provider; orderId: string }
  | { kind: "failed"; provider: Provider; orderId: string; reason: string }
  | { kind: "expired"; provider: Provider; orderId: string }
  | {
      kind: "refunded";
      provider: Provider;
      orderId: string;
      /** Provider refund id: the idempotency key of the clawback. */
      refundRef: string;
      /** Amount of this refund (not cumulative). */
      amountMinor: number;
      currency: string;
      refundedAtMs: number;
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
  | "unknown_order";

export type RefundOutcome =
  | "refunded"
  | "partially_refunded"
  | "duplicate"
  | "exceeds_grant"
  | "unknown_order";

export type SettleOutcome =
  | PaymentOutcome
  | RefundOutcome
  | "still_pending"
  | "expired"
  | "failed"
  | "needs_review"
  | "noop";

export interface SettleResult {
  orderId: string;
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
  createdAtMs: number;
  expiresAtMs: number;
  nextCheckAtMs: number | null;
  checkAttempts: number;
}
