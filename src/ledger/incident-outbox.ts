/**
 * Delivers the incidents the settlement functions wrote to the database's outbox (OutboxIncident) to the
 * AlertSink, in order, and finishes them. The rows are written in the settlement's own transaction, so
 * whatever a delivery misses (the desk unreachable, the worker timed out while the database committed, a
 * crash before this ran) is still there for the cron drain: an incident can be late, never lost. Raise
 * and resolve are idempotent per key, so a row sent twice (sent, then its finish failed) changes nothing.
 */
import { log } from "../log.ts";
import type { AlertSink, LedgerStore, OutboxIncident } from "./ports.ts";
import type { InfraError } from "./result.ts";

/** Rows one drain batch claims. */
export const OUTBOX_DRAIN_ROWS_MAX = 50;
/** Batches one drain runs at most (a backlog after an outage clears over a few ticks, never unbounded). */
export const OUTBOX_DRAIN_BATCHES_MAX = 4;
/** How long a claimed row is one drain's alone: well above what delivering a batch takes. */
export const OUTBOX_LEASE_SECONDS = 120;
/** A younger row still belongs to the call that wrote it, which delivers it right after its commit. */
export const OUTBOX_MIN_AGE_SECONDS = 60;

export interface OutboxPorts {
  store: LedgerStore;
  alerts: AlertSink;
}

export interface OutboxDelivery {
  delivered: number;
  /** Rows left in the outbox for the next drain: a delivery failed, or the finish did. */
  left: number;
  error: string | null;
}

export interface OutboxDrain extends OutboxDelivery {
  claimed: number;
}

const keyOf = (entry: OutboxIncident): string => (entry.action === "raise" ? entry.incident.key : entry.key);

function send(entry: OutboxIncident, nowMs: number, alerts: AlertSink) {
  return entry.action === "raise" ? alerts.raise(entry.incident, nowMs) : alerts.resolve(entry.key, nowMs);
}

/**
 * Sends the entries in order; answers the ids the sink stored. A failure that may pass stops the batch
 * (a later row may be about the same key and must not overtake it). A permanent refusal skips the rest of
 * that key and goes on, so one bad row never holds the others; it stays in the outbox, logged each time.
 */
async function sendInOrder(
  entries: readonly OutboxIncident[],
  nowMs: number,
  alerts: AlertSink,
): Promise<{ ids: number[]; error: InfraError | null }> {
  const ids: number[] = [];
  const refusedKeys = new Set<string>();
  let error: InfraError | null = null;
  for (const entry of entries) {
    if (refusedKeys.has(keyOf(entry))) continue;
    const sent = await send(entry, nowMs, alerts);
    if (sent.ok) {
      ids.push(entry.id);
      continue;
    }
    error = sent.error;
    if (sent.error.kind !== "permanent") break;
    refusedKeys.add(keyOf(entry));
  }
  return { ids, error };
}

/**
 * Delivers what one settlement wrote (or one drain claimed), then finishes what was delivered in one call.
 * Never fails the caller: the fact is durable, and so are its incidents.
 */
export async function deliverIncidents(
  entries: readonly OutboxIncident[],
  nowMs: number,
  ports: OutboxPorts,
): Promise<OutboxDelivery> {
  if (entries.length === 0) return { delivered: 0, left: 0, error: null };
  const sent = await sendInOrder(entries, nowMs, ports.alerts);
  let error = sent.error?.message ?? null;
  let finished = 0;
  if (sent.ids.length > 0) {
    const done = await ports.store.finishIncidentOutbox(sent.ids);
    if (done.ok) finished = sent.ids.length;
    else error = done.error.message;
  }
  const left = entries.length - finished;
  if (left > 0)
    log("warn", "incident_outbox_left", {
      keys: entries.map(keyOf),
      delivered: sent.ids.length,
      left,
      error,
    });
  return { delivered: sent.ids.length, left, error };
}

/**
 * The cron's half: rows nobody finished, older than OUTBOX_MIN_AGE_SECONDS, leased so two overlapping
 * drains never send one at the same time; batches until the outbox is empty, a delivery fails or the
 * batch limit is reached.
 */
export async function drainIncidentOutbox(ports: OutboxPorts, nowMs: number): Promise<OutboxDrain> {
  const total: OutboxDrain = { claimed: 0, delivered: 0, left: 0, error: null };
  for (let batch = 0; batch < OUTBOX_DRAIN_BATCHES_MAX; batch += 1) {
    const claimed = await ports.store.claimIncidentOutbox({
      limit: OUTBOX_DRAIN_ROWS_MAX,
      leaseSeconds: OUTBOX_LEASE_SECONDS,
      minAgeSeconds: OUTBOX_MIN_AGE_SECONDS,
      nowMs,
    });
    if (!claimed.ok) return { ...total, error: claimed.error.message };
    const delivery = await deliverIncidents(claimed.value, nowMs, ports);
    total.claimed += claimed.value.length;
    total.delivered += delivery.delivered;
    total.left += delivery.left;
    total.error = delivery.error ?? total.error;
    if (delivery.left > 0 || claimed.value.length < OUTBOX_DRAIN_ROWS_MAX) break;
  }
  return total;
}
