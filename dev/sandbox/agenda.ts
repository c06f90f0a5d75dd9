// Deterministic timers for the delivery queue. Plain setTimeouts fire in an order that depends on
// exactly when each was created; the agenda measures every delay scheduled in one synchronous burst
// from the same instant and breaks ties by scheduling order, so one seed gives one delivery sequence.
import { performance } from "node:perf_hooks";

interface Entry {
  dueMs: number;
  seq: number;
  run: () => void;
}

export function createAgenda() {
  let entries: Entry[] = [];
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let burstBaseMs: number | null = null;
  let idleWaiters: Array<() => void> = [];

  function burstNow(): number {
    if (burstBaseMs === null) {
      burstBaseMs = performance.now();
      setImmediate(() => {
        burstBaseMs = null;
      });
    }
    return burstBaseMs;
  }

  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const next = entries[0];
    if (!next) return;
    timer = setTimeout(fire, Math.max(0, next.dueMs - performance.now()));
  }

  function fire(): void {
    timer = undefined;
    const nowMs = performance.now();
    const due = entries.filter((entry) => entry.dueMs <= nowMs);
    entries = entries.filter((entry) => entry.dueMs > nowMs);
    for (const entry of due) entry.run();
    arm();
    if (entries.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  return {
    /** Runs `run` after `delayMs`; returns a handle for `cancel`. */
    after(delayMs: number, run: () => void): number {
      seq += 1;
      const entry = { dueMs: burstNow() + delayMs, seq, run };
      entries.push(entry);
      entries.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
      if (entries[0] === entry) arm();
      return entry.seq;
    },
    cancel(handle: number): void {
      entries = entries.filter((entry) => entry.seq !== handle);
      arm();
    },
    size: (): number => entries.length,
    /** Resolves when nothing is scheduled any more. */
    drained(): Promise<void> {
      if (entries.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    clear(): void {
      entries = [];
      arm();
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    },
  };
}

export type Agenda = ReturnType<typeof createAgenda>;
