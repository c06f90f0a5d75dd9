/**
 * Applies one provider fact (or one provider event) to the ledger and delivers the incidents it found.
 * Called only from inside an order's OrderGuard, so two facts about one order never race here; the
 * database functions are still the final word (they lock the row, hold facts that cannot apply yet, are
 * idempotent) and they decide the incidents too: each settlement writes its incidents to an outbox in its
 * own transaction and hands them back, delivered here right after the commit (src/ledger/incident-outbox.ts)
 * and by the cron drain when this never ran. A fact is acknowledged once it is durable, incidents included.
 */
import { deliverIncidents } from "./incident-outbox.ts";
import type { AlertSink, LedgerStore, Settlement, StoreResult } from "./ports.ts";
import { err, type InfraError, ok, retryLater } from "./result.ts";
import type {
  EventSettlement,
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

type Applied = Settlement<SettleOutcome>;

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
    case "refund_failed": {
      const { provider, refundRef, paymentRef } = fact;
      return store.failRefund({ provider, refundRef, paymentRef, source, nowMs });
    }
    case "awaiting_payment":
      return store.awaitPayment({ ...fact, nowMs });
    case "disputed":
      return store.applyDispute({ ...fact, source, nowMs });
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
  return ok({
    outcome: result.value ? "still_pending" : "unknown_order",
    order: result.value,
    incidents: [],
  });
}

/** Raised by payguard._notify_app_settled (the "app hook" section of the baseline migration). */
export const APP_HOOK_FAILED_SQLSTATE = "P0H01";

/**
 * The app's `payguard_app.on_settled` raised: the database rolled the settlement back (P0H01, transient,
 * so the provider retries), outbox rows included, so this one incident is raised from here. One per order
 * says why, since a hook that keeps failing blocks that order's credits until the app is fixed; the
 * settlement that later succeeds resolves it (through the outbox). Best effort: the fact is retried either
 * way, and so is this.
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
  const { outcome, order, incidents } = applied.value;
  await deliverIncidents(incidents, nowMs, ports);
  return ok({ orderId: order?.id ?? fact.orderId, outcome, status: order?.status ?? null });
}

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
 * One provider event: inbox, settlement, its incidents (outbox) and inbox finish in one database call,
 * then the incidents delivered and finished (a second call, only when there are any). A delivery that
 * fails leaves them for the cron drain; the event is durable and answered as settled either way.
 */
export async function settleEvent(
  event: ProviderEvent,
  nowMs: number,
  ports: SettlePorts,
): StoreResult<EventSettlement> {
  const settled = await ports.store.settleEvent({ ...event, nowMs });
  if (!settled.ok) {
    const [first] = event.facts;
    if (settled.error.code === APP_HOOK_FAILED_SQLSTATE && first) {
      const orderId = first.orderId ?? event.locator.claimedOrderId;
      await raiseAppHookFailure({ ...first, orderId } as PaymentFact, settled.error, nowMs, ports);
    }
    return recordFailure(event, settled.error, nowMs, ports.store);
  }
  const row = settled.value;
  if (row.status === "unlocated") return ok(row);
  // A duplicate hands over what its first delivery left undelivered (that answer was lost: a timeout).
  await deliverIncidents(row.incidents, nowMs, ports);
  if (row.status === "duplicate") return ok({ status: "duplicate" });
  return ok({
    status: "done",
    results: row.results.map((r) => ({
      orderId: r.order?.id ?? r.orderId,
      outcome: r.outcome,
      status: r.order?.status ?? null,
    })),
  });
}
