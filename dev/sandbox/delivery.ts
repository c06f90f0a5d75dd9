// The delivery queue: POSTs signed provider notifications to their URL the way providers do (at least
// once; any non-2xx is retried with exponential backoff up to a bounded number of attempts) and applies
// the fault each delivery drew (./delivery-faults.ts). Every attempt is logged in dispatch order, and all
// waiting goes through one deterministic agenda, so one seed gives one delivery sequence.
import { type Agenda, createAgenda } from "./agenda.ts";
import {
  type DeliveryFaults,
  decide,
  eventTypeOf,
  type FaultAction,
  noDeliveryFaults,
} from "./delivery-faults.ts";
import type { Clock, QueuedDelivery } from "./http.ts";
import { type Random, shuffle } from "./rng.ts";

export const DELIVERY_RETRY_MAX_MS = 60_000;
export const DELIVERY_TIMEOUT_MS = 10_000;
export const DELIVERY_LOG_MAX = 10_000;
export const DUPLICATE_COPIES_DEFAULT = 1;
export const REORDER_WINDOW_DEFAULT = 3;
/** A reorder window that never fills is released after this long, so nothing is held forever. */
export const REORDER_FLUSH_MS = 2_000;

export type DeliveryStatus = number | "pending" | "dropped" | "error" | "timeout";

export interface DeliveryAttempt {
  seq: number;
  provider: QueuedDelivery["provider"];
  eventId: string;
  eventType: string | null;
  url: string;
  attempt: number;
  fault: FaultAction | null;
  status: DeliveryStatus;
  atMs: number;
  /** When the answer (or its absence) was known; unset while pending and for deliveries never sent. */
  answeredAtMs?: number;
}

export interface DeliveryQueueOptions {
  clock: Clock;
  random: Random;
  /** Injected by tests of the queue; the sandbox uses global fetch. */
  fetch?: typeof fetch;
}

const delivered = (status: DeliveryStatus): boolean =>
  typeof status === "number" && status >= 200 && status < 300;

/** One POST with a deadline; the answer's status, or why there was none. */
async function post(
  send: typeof fetch,
  delivery: QueuedDelivery,
  headers: Record<string, string>,
  aborts: Set<AbortController>,
) {
  const abort = new AbortController();
  aborts.add(abort);
  const deadline = setTimeout(() => abort.abort(), DELIVERY_TIMEOUT_MS);
  // The deadline ends the attempt even when a fetch does not settle on its abort signal.
  const gaveUp = new Promise<never>((_, reject) =>
    abort.signal.addEventListener("abort", () => reject(new Error("delivery timed out")), { once: true }),
  );
  gaveUp.catch(() => undefined);
  try {
    const response = await Promise.race([
      send(delivery.url, { method: "POST", headers, body: delivery.body, signal: abort.signal }),
      gaveUp,
    ]);
    await Promise.race([response.arrayBuffer(), gaveUp]).catch(() => undefined);
    if (abort.signal.aborted) return "timeout";
    return response.status;
  } catch {
    return abort.signal.aborted ? "timeout" : "error";
  } finally {
    clearTimeout(deadline);
    aborts.delete(abort);
  }
}

interface QueueState {
  clock: Clock;
  random: Random;
  send: typeof fetch;
  agenda: Agenda;
  faults: DeliveryFaults;
  log: DeliveryAttempt[];
  seq: number;
  held: Array<{ delivery: QueuedDelivery; untilMs: number }>;
  reorderBuffer: QueuedDelivery[];
  reorderFlush: number | undefined;
  inFlight: Set<Promise<void>>;
  aborts: Set<AbortController>;
  totals: DeliveryTotals;
}

/** Counts over every attempt since the last reset, kept whole when the log drops its oldest entries. */
export interface DeliveryTotals {
  attempts: number;
  byFault: Record<string, number>;
  byStatus: Record<string, number>;
}

const noTotals = (): DeliveryTotals => ({ attempts: 0, byFault: {}, byStatus: {} });

function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function record(
  q: QueueState,
  delivery: QueuedDelivery,
  attempt: number,
  fault: FaultAction | null,
  status: DeliveryStatus,
) {
  q.seq += 1;
  const { provider, eventId, url } = delivery;
  const eventType = eventTypeOf(delivery.body);
  const entry: DeliveryAttempt = {
    seq: q.seq,
    provider,
    eventId,
    eventType,
    url,
    attempt,
    fault,
    status,
    atMs: q.clock(),
  };
  q.log.push(entry);
  if (q.log.length > DELIVERY_LOG_MAX) q.log.shift();
  q.totals.attempts += 1;
  if (fault) tally(q.totals.byFault, fault);
  if (status !== "pending") tally(q.totals.byStatus, String(status));
  return entry;
}

function attempt(q: QueueState, delivery: QueuedDelivery, number: number, fault: FaultAction | null): void {
  const entry = record(q, delivery, number, fault, "pending");
  const headers = delivery.resign?.(q.clock()) ?? delivery.headers;
  const running = post(q.send, delivery, headers, q.aborts).then((status) => {
    entry.status = status;
    entry.answeredAtMs = q.clock();
    tally(q.totals.byStatus, String(status));
    q.inFlight.delete(running);
    if (delivered(status) || number >= q.faults.attemptsMax) return;
    const backoffMs = Math.min(q.faults.retryBaseMs * 2 ** (number - 1), DELIVERY_RETRY_MAX_MS);
    q.agenda.after(backoffMs, () => attempt(q, delivery, number + 1, null));
  });
  q.inFlight.add(running);
}

function releaseReordered(q: QueueState): void {
  if (q.reorderFlush !== undefined) q.agenda.cancel(q.reorderFlush);
  q.reorderFlush = undefined;
  const batch = q.reorderBuffer;
  q.reorderBuffer = [];
  let order = shuffle(q.random, batch);
  // A shuffle can land on the original order; a reorder fault must actually reorder.
  if (batch.length > 1 && order.every((delivery, index) => delivery === batch[index]))
    order = [...batch].reverse();
  for (const delivery of order) attempt(q, delivery, 1, "reorder");
}

function enqueue(q: QueueState, delivery: QueuedDelivery): void {
  const { action, rule, delayMs } = decide(q.faults, q.random, delivery, eventTypeOf(delivery.body));
  switch (action) {
    case "drop":
      record(q, delivery, 1, "drop", "dropped");
      return;
    case "duplicate":
      for (let copy = 0; copy <= (rule?.copies ?? DUPLICATE_COPIES_DEFAULT); copy += 1)
        attempt(q, delivery, 1, "duplicate");
      return;
    case "delay":
      q.agenda.after(delayMs, () => attempt(q, delivery, 1, "delay"));
      return;
    case "hold":
      q.held.push({ delivery, untilMs: rule?.untilMs ?? Number.POSITIVE_INFINITY });
      return;
    case "reorder":
      q.reorderBuffer.push(delivery);
      if (q.reorderBuffer.length >= (rule?.window ?? REORDER_WINDOW_DEFAULT)) releaseReordered(q);
      else q.reorderFlush ??= q.agenda.after(REORDER_FLUSH_MS, () => releaseReordered(q));
      return;
    case null:
      attempt(q, delivery, 1, null);
  }
}

/** Sends held deliveries whose time has come on the sandbox clock; `all` also sends the rest and any partial reorder window. */
function release(q: QueueState, all: boolean): number {
  const nowMs = q.clock();
  const due = q.held.filter((entry) => all || entry.untilMs <= nowMs);
  q.held = q.held.filter((entry) => !due.includes(entry));
  for (const entry of due) attempt(q, entry.delivery, 1, "hold");
  if (all && q.reorderBuffer.length > 0) releaseReordered(q);
  return due.length;
}

/** Resolves once nothing is in flight or scheduled (held deliveries wait for their time). */
async function idle(q: QueueState): Promise<void> {
  while (q.agenda.size() > 0 || q.inFlight.size > 0) {
    await (q.inFlight.size > 0 ? Promise.all(q.inFlight) : q.agenda.drained());
  }
}

export function createDeliveryQueue(options: DeliveryQueueOptions) {
  const q: QueueState = {
    clock: options.clock,
    random: options.random,
    send: options.fetch ?? fetch,
    agenda: createAgenda(),
    faults: noDeliveryFaults(),
    log: [],
    seq: 0,
    held: [],
    reorderBuffer: [],
    reorderFlush: undefined,
    inFlight: new Set(),
    aborts: new Set(),
    totals: noTotals(),
  };
  return {
    enqueue: (delivery: QueuedDelivery) => enqueue(q, delivery),
    release: (all = false) => release(q, all),
    idle: () => idle(q),
    setFaults(next: DeliveryFaults): void {
      q.faults = next;
    },
    faults: (): DeliveryFaults => q.faults,
    log: (): readonly DeliveryAttempt[] => q.log,
    totals: (): DeliveryTotals => q.totals,
    pending: () => ({
      held: q.held.length,
      reorder: q.reorderBuffer.length,
      inFlight: q.inFlight.size,
      scheduled: q.agenda.size(),
    }),
    /** Forgets the log, held and scheduled deliveries and faults; requests already on the wire finish. */
    reset(): void {
      q.agenda.clear();
      Object.assign(q, {
        held: [],
        reorderBuffer: [],
        reorderFlush: undefined,
        log: [],
        totals: noTotals(),
        faults: noDeliveryFaults(),
      });
    },
    close(): void {
      q.agenda.clear();
      for (const abort of q.aborts) abort.abort();
    },
  };
}

export type DeliveryQueue = ReturnType<typeof createDeliveryQueue>;

/** An event's deliveries so far: any 2xx answer is success; attempts without one are failures. */
export function deliveryOutcome(
  log: readonly DeliveryAttempt[],
  eventId: string,
): "succeeded" | "failed" | "none" {
  const attempts = log.filter((entry) => entry.eventId === eventId);
  if (attempts.length === 0) return "none";
  return attempts.some((entry) => delivered(entry.status)) ? "succeeded" : "failed";
}
