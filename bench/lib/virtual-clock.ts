/**
 * A virtual clock for running many concurrent invocations as if in real time without waiting for it: a
 * `sleep` is a timer on the clock, and time moves to the next timer only when every task waits on one
 * (nothing real is in flight: each real operation is wrapped in `track`, and a full turn of Node's event
 * loop passed without anything new happening). Timers due at the same time fire one at a time, in the
 * order they were set, so a run is the same run every time for the same inputs.
 */
import { setImmediate } from "node:timers/promises";

interface Timer {
  atMs: number;
  seq: number;
  resolve: () => void;
}

export interface VirtualClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Marks a real operation (a request, a crypto job) as in flight until it settles. */
  track<T>(operation: Promise<T>): Promise<T>;
  /** Runs `work` to its end, moving time whenever everything waits on the clock. */
  run<T>(work: Promise<T>): Promise<T>;
}

export function createVirtualClock(startMs: number): VirtualClock {
  let nowMs = startMs;
  let seq = 0;
  let inFlight = 0;
  let activity = 0;
  const timers: Timer[] = [];
  const idleWaiters: Array<() => void> = [];

  const settled = () => {
    activity += 1;
    inFlight -= 1;
    if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
  };

  /** Resolves once nothing real is in flight and an event-loop turn started nothing new. */
  const quiet = async () => {
    for (;;) {
      if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      const before = activity;
      await setImmediate();
      if (inFlight === 0 && activity === before) return;
    }
  };

  return {
    now: () => nowMs,
    sleep(ms) {
      activity += 1;
      return new Promise((resolve) => {
        timers.push({ atMs: nowMs + Math.max(0, ms), seq: seq++, resolve });
        timers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      });
    },
    track(operation) {
      activity += 1;
      inFlight += 1;
      return operation.finally(settled);
    },
    async run(work) {
      let done = false;
      const finished = work.finally(() => {
        done = true;
      });
      finished.catch(() => undefined);
      for (;;) {
        await quiet();
        if (done) return finished;
        const next = timers.shift();
        if (!next) throw new Error("virtual clock: every task waits, and no timer is set");
        nowMs = Math.max(nowMs, next.atMs);
        next.resolve();
      }
    },
  };
}
