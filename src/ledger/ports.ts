/**
 * Ports: the only ways the core reaches the outside world. Adapters (src/db, src/providers, src/alerts)
 * implement them as factories returning object literals, so tests can swap any of them.
 */
import type { CheckOutcome } from "./check-outcome.ts";
import type { InfraError, Result } from "./result.ts";
import type {
  DisputeOutcome,
  DisputePolicy,
  DisputeState,
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
 * The incident key of an audit finding. The hourly audit resolves an `audit:` incident once it checks its
 * subject and the finding is gone, so a path that raises one of these at once (a held payment) gets its
 * resolution from the audit.
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
    | "held_fact_stale"
    | "refund_failure_unapplied";
  /** Stable id of the thing found (user id, order id, event key): the incident dedup key. */
  subject: string;
  detail: Record<string, unknown>;
}

/** One bounded audit call: what it found, and the open `audit:` incident keys whose subject it checked. */
export interface AuditStep {
  findings: AuditFinding[];
  /** Checked now: each of these that is not among `findings` is clean and may be resolved. */
  checked: string[];
}

/** A batch of the change window (`audit_changes`): change rows read, and whether the window has more. */
export interface AuditChangesStep extends AuditStep {
  changes: number;
  more: boolean;
  /** This call opened the window (it holds every change committed until now). */
  opened: boolean;
}

/** One slice of the full pass (`audit_slice`) and where the pass stands after it. */
export interface AuditSliceStep extends AuditStep {
  stage: "users" | "orders" | "refunds";
  keys: number;
  pass: { startedAtMs: number; slices: number; estimatedSlices: number; finished: boolean };
}

export interface IncidentInput {
  key: string;
  kind: string;
  severity: "info" | "warning" | "critical";
  summary: string;
  detail: Record<string, unknown>;
}

/**
 * An incident change a settlement wrote to the database's outbox in its own transaction (`raise` or
 * `resolve`), handed back with its result. The worker delivers these to the AlertSink in id order and
 * then finishes them; whatever is not finished (a timeout, a crash, a failed delivery) is drained by the
 * cron, so no path can acknowledge a fact and lose the incident it found.
 */
export type OutboxIncident =
  | { id: number; action: "raise"; incident: IncidentInput; createdAtMs: number }
  | { id: number; action: "resolve"; key: string; createdAtMs: number };

/** What a settlement function answers: its outcome, the order after it, the incidents it wrote (in order). */
export interface Settlement<O> {
  outcome: O;
  order: Order | null;
  incidents: OutboxIncident[];
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
    /** The provider reports the payment (partly) refunded already: `refund_awaited` until the refund fact. */
    refundedAtProvider?: boolean;
    nowMs: number;
  }): StoreResult<Settlement<PaymentOutcome>>;
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
  }): StoreResult<Settlement<RefundOutcome>>;
  /** The provider reports a refund failed: its clawback is reversed once, whenever the refund arrives. */
  failRefund(input: {
    provider: Provider;
    refundRef: string;
    /** The payment the refund was for, when known: finds the order while the refund itself is not seen. */
    paymentRef?: string | null;
    source: SettleSource;
    nowMs: number;
  }): StoreResult<Settlement<RefundOutcome>>;
  /**
   * An async payment in flight (a session complete but unpaid): a pending order keeps its stock unit and is
   * not expired before `untilMs`. `noop` for an order no longer pending.
   */
  awaitPayment(input: {
    orderId: string;
    paymentRef: string | null;
    untilMs: number;
    nowMs: number;
  }): StoreResult<Settlement<"awaiting_payment" | "noop" | "unknown_order">>;
  /** A chargeback in the state it reached; `policy` decides what it does to credits. Held before its payment. */
  applyDispute(input: {
    provider: Provider;
    orderId: string | null;
    disputeRef: string;
    paymentRef: string;
    amountMinor: number;
    currency: string;
    state: DisputeState;
    policy: DisputePolicy;
    source: SettleSource;
    nowMs: number;
  }): StoreResult<Settlement<DisputeOutcome>>;
  /** Operator decision on an order in review; the result is what the order's recorded facts imply. */
  resolveReview(input: {
    orderId: string;
    resolution: "fulfil" | "reject";
    note: string;
    nowMs: number;
  }): StoreResult<Settlement<OrderStatus | "noop">>;
  /** Orders the bill names or paid in the window, each with the provider refund ids recorded for it. */
  ordersForBill(input: {
    provider: Provider;
    fromMs: number;
    toMs: number;
    orderIds: string[];
  }): StoreResult<Array<Order & { refundRefs: string[] }>>;
  /**
   * An unpaid answer: the next check on the backoff. `delaySeconds` overrides the schedule (a payment in
   * progress); `outcome` is what the check found (default `confirming` with a delay, else `unpaid`).
   */
  recordCheck(input: {
    orderId: string;
    nowMs: number;
    delaySeconds?: number;
    outcome?: CheckOutcome;
  }): StoreResult<Order | null>;
  /**
   * Any other provider check's result on the order (src/ledger/check-outcome.ts); `count`: a reconcile
   * attempt (check_attempts grows). The schedule is not moved.
   */
  noteCheck(input: {
    orderId: string;
    nowMs: number;
    outcome: CheckOutcome;
    error?: string | null;
    count?: boolean;
  }): StoreResult<Order | null>;
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
   * Inbox record, settlement of every fact, the incidents they call for (outbox) and the inbox finish, in
   * one transaction.
   */
  settleEvent(input: ProviderEvent & { nowMs: number }): StoreResult<SettledEventRow>;
  /**
   * Outbox rows nobody confirmed, at least `minAgeSeconds` old (the caller that wrote them had its chance),
   * in id order, each leased for `leaseSeconds` so overlapping drains never send one at the same time.
   */
  claimIncidentOutbox(input: {
    limit: number;
    leaseSeconds: number;
    minAgeSeconds: number;
    nowMs: number;
  }): StoreResult<OutboxIncident[]>;
  /** Deletes outbox rows the AlertSink has stored; answers how many were still there. */
  finishIncidentOutbox(ids: readonly number[]): StoreResult<number>;
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
  /** The current-state audit findings, whole (pending past expiry, in review, inbox, held facts). */
  auditCurrent(input: { nowMs: number }): StoreResult<AuditStep>;
  /** The next at most `limit` changes since the last checked watermark, and their subjects' findings. */
  auditChanges(input: { nowMs: number; limit: number }): StoreResult<AuditChangesStep>;
  /** The next slice (at most `limit` keys) of the full pass. */
  auditSlice(input: { nowMs: number; limit: number }): StoreResult<AuditSliceStep>;
  /** The consistency findings of these subjects now (`refunds`: `provider:refund_ref`). */
  auditSubjects(input: { users: string[]; orders: string[]; refunds: string[] }): StoreResult<AuditStep>;
  repairMissingGrant(input: {
    orderId: string;
    nowMs: number;
  }): StoreResult<{ outcome: "granted" | "noop"; incidents: OutboxIncident[] }>;
  /** Applies a recorded refund failure whose refund row still counts (audit `refund_failure_unapplied`). */
  repairRefundFailure(input: {
    provider: Provider;
    refundRef: string;
    nowMs: number;
  }): StoreResult<{ outcome: "refund_failed" | "noop"; incidents: OutboxIncident[] }>;
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
  /** `incidents`: what an earlier delivery of the event left undelivered (its answer was lost). */
  | { status: "duplicate"; incidents: OutboxIncident[] }
  | { status: "unlocated" }
  | {
      status: "settled";
      results: Array<{ outcome: SettleOutcome; order: Order | null; orderId: string | null }>;
      /** Every incident change the event's facts wrote, in order. */
      incidents: OutboxIncident[];
    };

/** ok: all done; partial: stopped at a budget with work left for the next run; error: failed. */
export type JobStatus = "ok" | "partial" | "error";

export type TransitionResult = Settlement<"expired" | "failed" | "needs_review" | "noop">;

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
 * `ok` means the incident is stored durably. A settlement's incidents are durable before that, in the
 * database's outbox (OutboxIncident): delivering them here is what finishes them.
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
