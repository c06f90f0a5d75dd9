/**
 * Applies one provider fact to the ledger and decides which incidents it warrants. Called only from
 * inside an order's OrderGuard, so two facts about one order never race here; the database functions
 * are still the final word (they lock the row and are idempotent on their own).
 */
import type { AlertSink, IncidentInput, LedgerStore, StoreResult } from "./ports.ts";
import { ok } from "./result.ts";
import type { Order, PaymentFact, SettleOutcome, SettleResult, SettleSource } from "./types.ts";

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
  const orderId = fact.orderId;
  switch (fact.kind) {
    case "paid":
      return store.applyPayment({ ...fact, source, nowMs });
    case "refunded":
      return store.applyRefund({ ...fact, source, nowMs });
    case "failed":
      return store.failOrder({ orderId, reason: fact.reason, nowMs });
    case "expired":
      return store.expireOrder({ orderId, reason: `${fact.provider} reports expired`, nowMs });
    case "mismatch":
      return store.flagOrder({ orderId, reason: fact.reason, nowMs });
    case "pending":
      return recordPending(orderId, nowMs, store);
  }
}

async function recordPending(orderId: string, nowMs: number, store: LedgerStore): StoreResult<Applied> {
  const result = await store.recordCheck({ orderId, nowMs });
  if (!result.ok) return result;
  return ok({ outcome: result.value ? "still_pending" : "unknown_order", order: result.value });
}

/** The incident an outcome calls for, keyed so repeats of the same problem collapse into one. */
export function incidentFor(fact: PaymentFact, applied: Applied): IncidentInput | null {
  const subject = { order_id: fact.orderId, provider: fact.provider, status: applied.order?.status ?? null };
  const incident = (severity: IncidentInput["severity"], summary: string): IncidentInput => ({
    key: `${applied.outcome}:${fact.orderId}`,
    kind: applied.outcome,
    severity,
    summary,
    detail:
      fact.kind === "paid"
        ? { ...subject, amount_minor: fact.amountMinor, currency: fact.currency }
        : subject,
  });
  switch (applied.outcome) {
    case "mismatch":
    case "needs_review":
      return incident("critical", `Order ${fact.orderId} needs review: payment does not match the order`);
    case "exceeds_grant":
      return incident("critical", `Order ${fact.orderId}: refund exceeds what was paid`);
    case "late_payment":
      return incident("warning", `Order ${fact.orderId} was paid after it expired; credited`);
    case "created_from_metadata":
      return incident("warning", `Order ${fact.orderId} was never stored; rebuilt from payment metadata`);
    case "unknown_order":
      return fact.kind === "paid" || fact.kind === "refunded"
        ? incident("critical", `Money moved for unknown order ${fact.orderId}`)
        : null;
    default:
      return null;
  }
}

export async function settleFact(
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
  ports: SettlePorts,
): StoreResult<SettleResult> {
  const applied = await applyFact(fact, source, nowMs, ports.store);
  if (!applied.ok) return applied;
  const incident = incidentFor(fact, applied.value);
  if (incident) {
    // A fact that needs a human is acknowledged only once its incident is stored.
    const raised = await ports.alerts.raise(incident, nowMs);
    if (!raised.ok) return raised;
  }
  return ok({
    orderId: fact.orderId,
    outcome: applied.value.outcome,
    status: applied.value.order?.status ?? null,
  });
}
