/**
 * Ports: the only ways the core reaches the outside world. Adapters (src/db, src/providers, src/alerts)
 * implement them as factories returning object literals, so tests can swap any of them.
 */
import type { InfraError, Result } from "./result.ts";
import type {
  EventFact,
  EventLocator,
  Order,
  OrderMetadata,
  OrderStatus,
  PaymentFact,
  PaymentOutcome,
  Provider,
  ProviderEvent,
  RefundOutcome,
  SettleOutcome,
  SettleSource,
} from "./types.ts";

export type StoreResult<T> = Promise<Result<T, InfraError>>;

export type InboxStatus = "new" | "duplicate" | "retry";
export type InboxFinish = "processed" | "ignored" | "failed";

/**
 * The incident key of an audit finding. The hourly audit resolves every `audit:` incident whose finding is
 * gone, so a path that raises one of these at once (a held payment) gets its resolution from the audit.
 */
export const auditIncidentKey = (kind: string, subject: string): string => `audit:${kind}:${subject}`;

export interface AuditFinding {
  /** Known kinds below; newer migrations may add more, which callers handle generically. */
  kind:
    | "balance_mismatch"
    | "fulfilled_without_grant"
    | "grant_without_fulfilled_order"
    | "pending_past_expiry"
    | "needs_review"
    | "failed_inbox_event"
    | "held_payment"
    | "held_fact_stale";
  /** Stable id of the thing found (user id, order id, event key): the incident dedup key. */
  subject: string;
  detail: Record<string, unknown>;
}

export interface IncidentInput {
  key: string;
  kind: string;
  severity: "info" | "warning" | "critical";
  summary: string;
  detail: Record<string, unknown>;
}

/** The ledger as the Postgres functions expose it (supabase/migrations). Every write is one transaction. */
export interface LedgerStore {
  createOrder(input: {
    userId: string;
    packageId: string;
    provider: Provider;
    orderId?: string;
    nowMs: number;
  }): StoreResult<Order>;
  getOrder(orderId: string): StoreResult<Order | null>;
  findOrderByProviderRef(provider: Provider, providerRef: string): StoreResult<Order | null>;
  findOrderByPaymentRef(provider: Provider, paymentRef: string): StoreResult<Order | null>;
  setProviderRef(input: { orderId: string; providerRef: string; nowMs: number }): StoreResult<Order>;
  applyPayment(input: {
    provider: Provider;
    orderId: string;
    paymentRef: string;
    amountMinor: number;
    currency: string;
    paidAtMs: number;
    source: SettleSource;
    metadata?: OrderMetadata;
    /** What a discount took off the price: the payment matches when amount + discount = order amount. */
    discountMinor?: number;
    /** The provider object payguard opened for the order (Checkout Session id): decides the order first. */
    providerRef?: string;
    nowMs: number;
  }): StoreResult<{ outcome: PaymentOutcome; order: Order | null }>;
  /** Applies a refund, or holds it (`held`) until the payment it refunds is seen. */
  applyRefund(input: {
    provider: Provider;
    orderId: string | null;
    paymentRef: string | null;
    refundRef: string;
    amountMinor: number;
    currency: string;
    source: SettleSource;
    nowMs: number;
  }): StoreResult<{ outcome: RefundOutcome; order: Order | null }>;
  /** The provider reports a refund failed: its clawback is reversed once, whenever the refund arrives. */
  failRefund(input: {
    provider: Provider;
    refundRef: string;
    source: SettleSource;
    nowMs: number;
  }): StoreResult<{ outcome: RefundOutcome; order: Order | null }>;
  /** Operator decision on an order in review; the result is what the order's recorded facts imply. */
  resolveReview(input: {
    orderId: string;
    resolution: "fulfil" | "reject";
    note: string;
    nowMs: number;
  }): StoreResult<{ outcome: OrderStatus | "noop"; order: Order | null }>;
  ordersForBill(input: {
    provider: Provider;
    fromMs: number;
    toMs: number;
    orderIds: string[];
  }): StoreResult<Order[]>;
  /** `delaySeconds` overrides the backoff schedule for the next check (a payment in progress). */
  recordCheck(input: { orderId: string; nowMs: number; delaySeconds?: number }): StoreResult<Order | null>;
  expireOrder(input: { orderId: string; reason: string; nowMs: number }): StoreResult<TransitionResult>;
  failOrder(input: { orderId: string; reason: string; nowMs: number }): StoreResult<TransitionResult>;
  flagOrder(input: { orderId: string; reason: string; nowMs: number }): StoreResult<TransitionResult>;
  leaseDueOrders(input: {
    limit: number;
    leaseSeconds: number;
    nowMs: number;
    provider?: Provider;
  }): StoreResult<Order[]>;
  recordEvent(input: {
    provider: Provider;
    eventId: string;
    eventType: string;
    orderId: string | null;
    nowMs: number;
  }): StoreResult<InboxStatus>;
  finishEvent(input: {
    provider: Provider;
    eventId: string;
    status: InboxFinish;
    error?: string;
    nowMs: number;
  }): StoreResult<void>;
  /**
   * Inbox record, settlement of every fact and inbox finish in one transaction. The row is finished only
   * when every outcome is in `quietOutcomes` and no order ends in `loudStatuses`; otherwise the caller
   * stores what those call for and then finishes it (`finishEvent`).
   */
  settleEvent(
    input: ProviderEvent & {
      quietOutcomes: readonly string[];
      loudStatuses: readonly string[];
      nowMs: number;
    },
  ): StoreResult<SettledEventRow>;
  openIncident(input: IncidentInput & { nowMs: number }): StoreResult<{ id: number; opened: boolean }>;
  resolveIncident(input: { key: string; nowMs: number }): StoreResult<{ resolved: boolean }>;
  acknowledgeIncident(input: { key: string; actor: string; nowMs: number }): StoreResult<{ found: boolean }>;
  muteIncident(input: {
    key: string;
    untilMs: number;
    actor: string;
    nowMs: number;
  }): StoreResult<{ found: boolean }>;
  recordJobRun(input: {
    job: string;
    startedAtMs: number;
    finishedAtMs: number;
    status: JobStatus;
    detail: Record<string, unknown>;
  }): StoreResult<void>;
  getSyncCursor(name: string): StoreResult<unknown>;
  setSyncCursor(input: { name: string; value: unknown; nowMs: number }): StoreResult<void>;
  auditLedger(input: { nowMs: number }): StoreResult<AuditFinding[]>;
  repairMissingGrant(input: { orderId: string; nowMs: number }): StoreResult<{ outcome: "granted" | "noop" }>;
  /** Keys of the open incidents whose key starts with `prefix`. */
  listOpenIncidentKeys(prefix: string): StoreResult<string[]>;
  /**
   * Orders credited by a re-query in [sinceMs, untilMs) at least `delaySeconds` after they were paid:
   * their callback never came.
   */
  callbackGaps(input: {
    provider: Provider;
    sinceMs: number;
    untilMs: number;
    delaySeconds: number;
  }): StoreResult<{ count: number; firstOrderId: string | null }>;
}

export type SettledEventRow =
  | { status: "duplicate" }
  | { status: "unlocated" }
  | {
      status: "settled";
      finished: boolean;
      results: Array<{ outcome: SettleOutcome; order: Order | null; orderId: string | null }>;
    };

/** ok: all done; partial: stopped at a budget with work left for the next run; error: failed. */
export type JobStatus = "ok" | "partial" | "error";

export interface TransitionResult {
  outcome: "expired" | "failed" | "needs_review" | "noop";
  order: Order | null;
}

/** What the core may ask a payment provider about one order. */
export interface ProviderApi {
  provider: Provider;
  /** Current truth for an order, as a fact (paid / pending / failed / expired). */
  queryOrder(order: Order, nowMs: number): Promise<Result<PaymentFact, InfraError>>;
  /** Close an unpaid order at the provider so it can no longer be paid. */
  closeOrder(order: Order, nowMs: number): Promise<Result<void, InfraError>>;
}

/**
 * Where incidents go (the AlertDesk Durable Object, which fans out to Slack / DingTalk / WeCom).
 * `ok` means the incident is stored durably: a caller that needs a human answers the provider 2xx only then.
 */
export interface AlertSink {
  raise(incident: IncidentInput, nowMs: number): Promise<Result<void, InfraError>>;
  resolve(key: string, nowMs: number): Promise<Result<void, InfraError>>;
  /** Operator triage: someone is on it (no reminders needed to find them). `found` is false for no open incident. */
  acknowledge(key: string, actor: string, nowMs: number): Promise<Result<{ found: boolean }, InfraError>>;
  /** No reminders until `untilMs`; a worsening still posts. */
  mute(
    key: string,
    untilMs: number,
    actor: string,
    nowMs: number,
  ): Promise<Result<{ found: boolean }, InfraError>>;
}
