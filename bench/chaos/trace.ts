/**
 * What a chaos run saw, kept so that a violation can be explained from the run alone: each order's
 * scenario steps as the simulation took them (with the ids and event ids the sandbox answered), and every
 * webhook delivery attempt and provider API call the sandbox logged. The sandbox keeps only its last
 * 10,000 of each, which a 10,000-order run outgrows, so a recorder copies both logs every LOG_POLL_MS
 * while the run lasts (keyed by their sequence numbers, so an attempt's later answer replaces its
 * `pending`).
 */
import type { BenchStack } from "../lib/stack.ts";
import type { Acknowledged } from "./checks.ts";

/** Often enough that neither log (10,000 entries, at most a few hundred new ones a second) wraps between copies. */
const LOG_POLL_MS = 2_000;

export interface Step {
  atMs: number;
  step: string;
  detail: Record<string, unknown>;
}

export interface OrderTrace {
  steps: Step[];
  /** Provider ids the steps named (session, payment intent, transaction, refund, dispute, subscription, invoice). */
  refs: Set<string>;
  /** Provider events the steps emitted. */
  eventIds: Set<string>;
}

/** One attempt as the sandbox's delivery log has it (dev/sandbox/delivery.ts). */
export interface Delivery {
  seq: number;
  provider: string;
  eventId: string;
  eventType: string | null;
  attempt: number;
  fault: string | null;
  status: number | string;
  atMs: number;
  answeredAtMs?: number;
}

/** One API call as the sandbox's call log has it (dev/sandbox/calls.ts). */
export interface ApiCall {
  seq: number;
  method: string;
  path: string;
  query: string;
  status: number;
  atMs: number;
  fault: string | null;
}

const REF_KEYS = [
  "sessionId",
  "paymentIntentId",
  "transactionId",
  "refundId",
  "disputeId",
  "subscriptionId",
  "invoiceId",
];

export function createTrace() {
  const orders = new Map<string, OrderTrace>();
  const orderByEvent = new Map<string, string>();
  return {
    /**
     * Notes one step of an order, at `atMs` (when it started; default now); ids and event ids in
     * `detail` become the order's refs.
     */
    step(orderId: string, step: string, detail: Record<string, unknown> = {}, atMs = Date.now()): void {
      let trace = orders.get(orderId);
      if (!trace) {
        trace = { steps: [], refs: new Set(), eventIds: new Set() };
        orders.set(orderId, trace);
      }
      trace.steps.push({ atMs, step, detail });
      for (const key of REF_KEYS) if (typeof detail[key] === "string") trace.refs.add(detail[key]);
      if (Array.isArray(detail.eventIds))
        for (const id of detail.eventIds)
          if (typeof id === "string") {
            trace.eventIds.add(id);
            orderByEvent.set(id, orderId);
          }
    },
    order: (orderId: string): OrderTrace | undefined => orders.get(orderId),
    /** Which order the simulation emitted an event for. */
    orderOfEvent: (eventId: string): string | null => orderByEvent.get(eventId) ?? null,
  };
}

export type Trace = ReturnType<typeof createTrace>;

export interface SandboxLogs {
  deliveries: Delivery[];
  calls: ApiCall[];
  /** Sequence numbers below the highest copied that no copy caught (0 unless the logs wrapped between polls). */
  missed: { deliveries: number; calls: number };
}

const missedOf = (entries: Array<{ seq: number }>): number =>
  entries.length === 0 ? 0 : Math.max(...entries.map((entry) => entry.seq)) - entries.length;

/** Copies the sandbox's delivery and call logs until `stop()`, which copies once more and returns them. */
export function recordSandboxLogs(stack: BenchStack) {
  const deliveries = new Map<number, Delivery>();
  const calls = new Map<number, ApiCall>();
  let copyErrors = 0;
  const copy = async () => {
    try {
      const [d, c] = await Promise.all([
        stack.control<{ deliveries: Delivery[] }>("deliveries"),
        stack.control<{ calls: ApiCall[] }>("calls"),
      ]);
      for (const entry of d.deliveries) deliveries.set(entry.seq, entry);
      for (const entry of c.calls) calls.set(entry.seq, entry);
    } catch {
      copyErrors += 1;
    }
  };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await copy();
      await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS));
    }
  })();
  return {
    async stop(): Promise<SandboxLogs & { copyErrors: number }> {
      stopped = true;
      await loop;
      await copy();
      const sorted = <T extends { seq: number }>(map: Map<number, T>) =>
        [...map.values()].sort((a, b) => a.seq - b.seq);
      const all = { deliveries: sorted(deliveries), calls: sorted(calls) };
      return {
        ...all,
        missed: { deliveries: missedOf(all.deliveries), calls: missedOf(all.calls) },
        copyErrors,
      };
    },
  };
}

/** Every event some delivery attempt of the sandbox's queue had answered 2xx, with its first such answer. */
export function acknowledgedDeliveries(logs: SandboxLogs, trace: Trace): Acknowledged[] {
  const first = new Map<string, Acknowledged>();
  for (const d of logs.deliveries) {
    if (typeof d.status !== "number" || d.status < 200 || d.status >= 300) continue;
    const key = `${d.provider}:${d.eventId}`;
    const atMs = d.answeredAtMs ?? d.atMs;
    const known = first.get(key);
    if (known && known.acknowledgedAtMs <= atMs) continue;
    first.set(key, {
      provider: d.provider,
      eventId: d.eventId,
      orderId: trace.orderOfEvent(d.eventId),
      acknowledgedAtMs: atMs,
    });
  }
  return [...first.values()];
}
