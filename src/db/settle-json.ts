/**
 * The JSON that crosses between the ledger adapter and the settlement functions: facts as
 * `payguard._settle_fact` reads them, and the results (with their outbox incidents) as they answer.
 * snake_case on the wire, times as ISO strings.
 */
import type { OutboxIncident, SettledEventRow, Settlement } from "../ledger/ports.ts";
import type { EventFact, OrderMetadata, SettleOutcome } from "../ledger/types.ts";
import { type OrderRow, toOrderOrNull } from "./order-row.ts";

export const iso = (ms: number): string => new Date(ms).toISOString();

/** The payment's claims as `apply_payment` reads them (snake_case; absent fields left out). */
export function metadataJson(metadata: OrderMetadata | undefined): Record<string, string> | null {
  if (!metadata) return null;
  const fields = {
    user_id: metadata.userId,
    package_id: metadata.packageId,
    order_id: metadata.orderId,
    client_reference_id: metadata.clientReferenceId,
  };
  const present = Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return present.length ? Object.fromEntries(present) : null;
}

/** A fact as `payguard._settle_fact` reads it: the arguments of its settlement function, snake_case. */
export function factJson(fact: EventFact): Record<string, unknown> {
  const base = { kind: fact.kind, provider: fact.provider, order_id: fact.orderId };
  switch (fact.kind) {
    case "paid":
      return {
        ...base,
        payment_ref: fact.paymentRef,
        amount_minor: fact.amountMinor,
        discount_minor: fact.discountMinor ?? 0,
        currency: fact.currency,
        paid_at: iso(fact.paidAtMs),
        provider_ref: fact.providerRef ?? null,
        metadata: metadataJson(fact.metadata),
        refunded_at_provider: fact.refundedAtProvider ?? false,
      };
    case "refunded":
      return {
        ...base,
        payment_ref: fact.paymentRef,
        refund_ref: fact.refundRef,
        amount_minor: fact.amountMinor,
        currency: fact.currency,
      };
    case "refund_failed":
      return { ...base, payment_ref: fact.paymentRef, refund_ref: fact.refundRef };
    case "awaiting_payment":
      return { ...base, payment_ref: fact.paymentRef, until: iso(fact.untilMs) };
    case "disputed":
      return {
        ...base,
        payment_ref: fact.paymentRef,
        dispute_ref: fact.disputeRef,
        amount_minor: fact.amountMinor,
        currency: fact.currency,
        state: fact.state,
        policy: fact.policy,
      };
    case "failed":
    case "mismatch":
      return { ...base, reason: fact.reason };
    case "expired":
    case "pending":
      return base;
    case "invoice_paid":
      return {
        ...base,
        invoice_ref: fact.invoiceRef,
        subscription_ref: fact.subscriptionRef,
        billing_reason: fact.billingReason,
        payment_ref: fact.paymentRef,
        amount_minor: fact.amountMinor,
        discount_minor: fact.discountMinor,
        currency: fact.currency,
        paid_at: iso(fact.paidAtMs),
        period_start: iso(fact.periodStartMs),
        period_end: iso(fact.periodEndMs),
        metadata: metadataJson(fact.metadata),
        lines: fact.lines.map((line) => ({
          price_ref: line.priceRef,
          amount_minor: line.amountMinor,
          currency: line.currency,
          quantity: line.quantity,
          proration: line.proration,
        })),
      };
    case "subscription_state":
      return {
        ...base,
        subscription_ref: fact.subscriptionRef,
        status: fact.status,
        reported_at: iso(fact.reportedAtMs),
        current_period_start: fact.currentPeriodStartMs === null ? null : iso(fact.currentPeriodStartMs),
        current_period_end: fact.currentPeriodEndMs === null ? null : iso(fact.currentPeriodEndMs),
        cancel_at_period_end: fact.cancelAtPeriodEnd,
        price_ref: fact.priceRef,
        metadata: metadataJson(fact.metadata),
      };
  }
}

/** One row of `payguard.incident_outbox` as `_outbox_row` answers it (`kind`… null for a resolve). */
export interface OutboxRow {
  id: number | string;
  action: "raise" | "resolve";
  key: string;
  kind: string | null;
  severity: "info" | "warning" | "critical" | null;
  summary: string | null;
  detail: Record<string, unknown> | null;
  created_at: string;
}

export function toOutboxIncident(row: OutboxRow): OutboxIncident {
  const id = Number(row.id);
  const createdAtMs = Date.parse(row.created_at);
  if (row.action === "resolve") return { id, action: "resolve", key: row.key, createdAtMs };
  return {
    id,
    action: "raise",
    incident: {
      key: row.key,
      kind: row.kind ?? "unknown",
      severity: row.severity ?? "critical",
      summary: row.summary ?? row.key,
      detail: row.detail ?? {},
    },
    createdAtMs,
  };
}

/** The `incidents` a settlement function's result carries (absent when it wrote none). */
export const incidentsOf = (row: { incidents?: OutboxRow[] | null }): OutboxIncident[] =>
  (row.incidents ?? []).map(toOutboxIncident);

export type SettledEventJson =
  | { status: "duplicate"; incidents?: OutboxRow[] | null }
  | { status: "unlocated" }
  | {
      status: "settled";
      results: Array<{ outcome: SettleOutcome; order: OrderRow | null; order_id: string | null }>;
      incidents?: OutboxRow[] | null;
    };

export function toSettledEvent(row: SettledEventJson): SettledEventRow {
  if (row.status === "duplicate") return { status: "duplicate", incidents: incidentsOf(row) };
  if (row.status !== "settled") return { status: row.status };
  return {
    status: "settled",
    results: row.results.map((r) => ({
      outcome: r.outcome,
      order: toOrderOrNull(r.order),
      orderId: r.order_id,
    })),
    incidents: incidentsOf(row),
  };
}

export type OutcomeRow<O> = { outcome: O; order: OrderRow | null; incidents?: OutboxRow[] | null };

export const toOutcome = <O>(row: OutcomeRow<O>): Settlement<O> => ({
  outcome: row.outcome,
  order: toOrderOrNull(row.order),
  incidents: incidentsOf(row),
});
