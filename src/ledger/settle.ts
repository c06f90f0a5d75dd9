/**
 * Applies one provider fact to the ledger and decides which incidents it warrants. Called only from
 * inside an order's OrderGuard, so two facts about one order never race here; the database functions
 * are still the final word (they lock the row, hold facts that cannot apply yet, and are idempotent).
 * A fact that needs a human is acknowledged only once its incident is stored: a failed write is returned.
 */
import {
  type AlertSink,
  auditIncidentKey,
  type IncidentInput,
  type LedgerStore,
  type StoreResult,
} from "./ports.ts";
import { err, type InfraError, ok, retryLater } from "./result.ts";
import type {
  EventFact,
  EventSettlement,
  Order,
  OrderStatus,
  PaymentFact,
  ProviderEvent,
  SettleOutcome,
  SettleResult,
  SettleSource,
} from "./types.ts";

export interface SettlePorts {
  store: LedgerStore;
  alerts: AlertSink;
}

type Applied = { outcome: SettleOutcome; order: Order | null };

function applyFact(
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
  store: LedgerStore,
): StoreResult<Applied> {
  switch (fact.kind) {
    case "paid":
      return store.applyPayment({ ...fact, source, nowMs });
    case "refunded":
      return store.applyRefund({ ...fact, source, nowMs });
    case "refund_failed":
      return store.failRefund({ provider: fact.provider, refundRef: fact.refundRef, source, nowMs });
    case "failed":
      return store.failOrder({ orderId: fact.orderId, reason: fact.reason, nowMs });
    case "expired":
      return store.expireOrder({ orderId: fact.orderId, reason: `${fact.provider} reports expired`, nowMs });
    case "mismatch":
      return store.flagOrder({ orderId: fact.orderId, reason: fact.reason, nowMs });
    case "pending":
      return recordPending(fact.orderId, nowMs, store);
  }
}

async function recordPending(orderId: string, nowMs: number, store: LedgerStore): StoreResult<Applied> {
  const result = await store.recordCheck({ orderId, nowMs });
  if (!result.ok) return result;
  return ok({ outcome: result.value ? "still_pending" : "unknown_order", order: result.value });
}

/** The incident kept open while WeChat reports an order REFUND but the refund fact has not arrived. */
export const refundAwaitedKey = (orderId: string): string => `refund_awaited:${orderId}`;

const REFUND_APPLIED = new Set<string>(["refunded", "partially_refunded"]);

/**
 * The incident an outcome calls for. Keys depend on the order, not on which fact arrived first, so the
 * same set of facts opens the same incidents in any arrival order (a review is one incident per order).
 */
/**
 * A payment held because its order is not stored: the customer paid and is not credited until the order
 * is written. Raised at once under the audit's key, so the hourly audit resolves it when the hold applies.
 */
function heldPayment(fact: Extract<PaymentFact, { kind: "paid" }>, orderId: string): IncidentInput {
  return {
    key: auditIncidentKey("held_payment", `${fact.provider}:${fact.paymentRef}`),
    kind: "audit_held_payment",
    severity: "critical",
    summary: `Payment ${fact.paymentRef} is held: order ${orderId} is not stored, nobody is credited yet`,
    detail: {
      order_id: orderId,
      provider: fact.provider,
      payment_ref: fact.paymentRef,
      amount_minor: fact.amountMinor,
      currency: fact.currency,
    },
  };
}

export function incidentFor(fact: PaymentFact, applied: Applied): IncidentInput | null {
  const orderId = applied.order?.id ?? fact.orderId ?? "unknown";
  const subject = { order_id: orderId, provider: fact.provider, status: applied.order?.status ?? null };
  const incident = (kind: string, severity: IncidentInput["severity"], summary: string): IncidentInput => ({
    key: `${kind}:${orderId}`,
    kind,
    severity,
    summary,
    detail:
      fact.kind === "paid"
        ? {
            ...subject,
            payment_ref: fact.paymentRef,
            amount_minor: fact.amountMinor,
            currency: fact.currency,
          }
        : subject,
  });
  // Any fact on an order in review (a repeat too) re-raises its one incident: a retry after a failed
  // incident write must not be answered 2xx before a human is told.
  const outcome = applied.order?.status === "needs_review" ? "needs_review" : applied.outcome;
  switch (outcome) {
    case "mismatch":
    case "needs_review":
      return incident(
        "needs_review",
        "critical",
        `Order ${orderId} needs review: a fact does not match the order`,
      );
    case "exceeds_grant":
      return incident("exceeds_grant", "critical", `Order ${orderId}: refund exceeds what was paid`);
    case "late_payment":
      return incident("late_payment", "warning", `Order ${orderId} was paid after it expired; credited`);
    case "created_from_metadata":
      return incident(
        "created_from_metadata",
        "warning",
        `Order ${orderId} was never stored; rebuilt from payment metadata`,
      );
    case "held":
      return fact.kind === "paid" ? heldPayment(fact, orderId) : null;
    case "unknown_order":
      return fact.kind === "paid" || fact.kind === "refunded"
        ? incident("unknown_order", "critical", `Money moved for unknown order ${orderId}`)
        : null;
    default:
      return refundAwaited(fact, applied, orderId);
  }
}

/** WeChat says REFUND on query: the payment is settled; a human watches until the refund fact arrives. */
function refundAwaited(fact: PaymentFact, applied: Applied, orderId: string): IncidentInput | null {
  if (fact.kind !== "paid" || !fact.refundedAtProvider) return null;
  const status = applied.order?.status;
  if (status === "refunded" || status === "partially_refunded") return null;
  return {
    key: refundAwaitedKey(orderId),
    kind: "refund_awaited",
    severity: "warning",
    summary: `Order ${orderId}: ${fact.provider} reports a refund that has not reached payguard yet`,
    detail: { order_id: orderId, provider: fact.provider, payment_ref: fact.paymentRef },
  };
}

/** Raised by payguard._notify_app_settled (the "app hook" section of the baseline migration). */
export const APP_HOOK_FAILED_SQLSTATE = "P0H01";

/**
 * The app's `payguard_app.on_settled` raised: the database rolled the settlement back (P0H01, transient,
 * so the provider retries). One incident per order says why, since a hook that keeps failing blocks that
 * order's credits until the app is fixed. Best effort: the fact is retried either way, and so is this.
 */
async function raiseAppHookFailure(fact: PaymentFact, error: InfraError, nowMs: number, ports: SettlePorts) {
  const orderId = fact.orderId ?? "unknown";
  await ports.alerts.raise(
    {
      key: `app_hook_failed:${orderId}`,
      kind: "app_hook_failed",
      severity: "critical",
      summary: `Order ${orderId}: the app hook payguard_app.on_settled failed; settlement rolled back, retrying`,
      detail: { order_id: orderId, provider: fact.provider, fact: fact.kind, error: error.message },
    },
    nowMs,
  );
}

export async function settleFact(
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
  ports: SettlePorts,
): StoreResult<SettleResult> {
  const applied = await applyFact(fact, source, nowMs, ports.store);
  if (!applied.ok) {
    if (applied.error.code === APP_HOOK_FAILED_SQLSTATE)
      await raiseAppHookFailure(fact, applied.error, nowMs, ports);
    return applied;
  }
  return followUp(fact, applied.value, nowMs, ports);
}

/** What an applied fact calls for before the provider may be answered 2xx: its incident, a resolution. */
async function followUp(
  fact: PaymentFact,
  applied: Applied,
  nowMs: number,
  ports: SettlePorts,
): StoreResult<SettleResult> {
  const incident = incidentFor(fact, applied);
  if (incident) {
    // Whatever stopped the incident write, the provider must retry until a human has been told.
    const raised = await ports.alerts.raise(incident, nowMs);
    if (!raised.ok) return err(retryLater(raised.error));
  }
  const orderId = applied.order?.id ?? fact.orderId;
  if (orderId && REFUND_APPLIED.has(applied.order?.status ?? "noop")) {
    const resolved = await ports.alerts.resolve(refundAwaitedKey(orderId), nowMs);
    if (!resolved.ok) return err(retryLater(resolved.error));
  }
  return ok({ orderId, outcome: applied.outcome, status: applied.order?.status ?? null });
}

/**
 * Outcomes that call for nothing beyond the settlement itself (no incident, no resolution), unless the
 * order ends in one of SETTLED_LOUD_STATUSES: `payguard.settle_event` finishes the inbox row in the same
 * transaction only then. Everything else is committed unfinished and finished here after its incident.
 * test/unit/settle-event.test.ts checks these against `incidentFor` for every outcome and status.
 */
export const SETTLED_QUIET_OUTCOMES: readonly SettleOutcome[] = [
  "fulfilled",
  "duplicate",
  "recorded",
  "refund_failed",
  "still_pending",
  "expired",
  "failed",
  "noop",
];
export const SETTLED_LOUD_STATUSES: readonly OrderStatus[] = [
  "needs_review",
  "refunded",
  "partially_refunded",
];

/** A paid fact that reports a refund at the provider may open `refund_awaited`: never finished quietly. */
const mayFinishQuietly = (facts: EventFact[]): boolean =>
  !facts.some((fact) => fact.kind === "paid" && fact.refundedAtProvider);

/**
 * The failed transaction took its inbox row with it: record the event as failed so the audit sees it
 * (`failed_inbox_event`). Required when the failure is permanent (the provider is answered 2xx and will
 * not retry): if it cannot be recorded, the answer becomes transient. Best effort otherwise.
 */
async function recordFailure(
  event: ProviderEvent,
  error: InfraError,
  nowMs: number,
  store: LedgerStore,
): StoreResult<never> {
  const claimed = event.locator.claimedOrderId ?? event.facts[0]?.orderId ?? null;
  const { provider, eventId, eventType } = event;
  const recorded = await store.recordEvent({ provider, eventId, eventType, orderId: claimed, nowMs });
  const finished = recorded.ok
    ? await store.finishEvent({ provider, eventId, status: "failed", error: error.message, nowMs })
    : recorded;
  if (!finished.ok && error.kind === "permanent") return err(retryLater(finished.error));
  return err(error);
}

/**
 * One provider event: inbox, settlement and inbox finish in one database call when the outcome needs
 * nothing else (the common case); otherwise the incidents are stored first and the row finished after.
 * A failed incident write leaves the row unfinished, so the provider's retry settles (idempotently) again.
 */
export async function settleEvent(
  event: ProviderEvent,
  nowMs: number,
  ports: SettlePorts,
): StoreResult<EventSettlement> {
  const settled = await ports.store.settleEvent({
    ...event,
    quietOutcomes: mayFinishQuietly(event.facts) ? SETTLED_QUIET_OUTCOMES : [],
    loudStatuses: SETTLED_LOUD_STATUSES,
    nowMs,
  });
  if (!settled.ok) {
    const [first] = event.facts;
    if (settled.error.code === APP_HOOK_FAILED_SQLSTATE && first) {
      const orderId = first.orderId ?? event.locator.claimedOrderId;
      await raiseAppHookFailure({ ...first, orderId } as PaymentFact, settled.error, nowMs, ports);
    }
    return recordFailure(event, settled.error, nowMs, ports.store);
  }
  const row = settled.value;
  if (row.status !== "settled") return ok(row);
  if (row.finished)
    return ok({
      status: "done",
      results: row.results.map((r) => ({
        orderId: r.order?.id ?? r.orderId,
        outcome: r.outcome,
        status: r.order?.status ?? null,
      })),
    });
  const results: SettleResult[] = [];
  for (const [i, result] of row.results.entries()) {
    const fact = { ...event.facts[i], orderId: result.orderId } as PaymentFact;
    const done = await followUp(fact, { outcome: result.outcome, order: result.order }, nowMs, ports);
    if (!done.ok) return done;
    results.push(done.value);
  }
  const finished = await ports.store.finishEvent({
    provider: event.provider,
    eventId: event.eventId,
    status: "processed",
    nowMs,
  });
  if (!finished.ok) return err(retryLater(finished.error));
  return ok({ status: "done", results });
}
