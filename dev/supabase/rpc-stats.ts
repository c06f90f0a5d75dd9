/**
 * What the stand-in measures for benchmarks and injects for the chaos simulation: RPC counts and time
 * inside the database transaction per function, and a seeded share of RPCs failed as transient 503s.
 *
 * The failures are spread, not drawn one by one: at rate r, the k-th failure falls at a seeded place in
 * the k-th run of 1/r calls. The share is exact and the first failure comes within the first 1/r calls,
 * so a short run (whose number of calls depends on timing) never ends without one, which independent
 * draws could not promise (at 2 % and seed 11 the first of them came at call 87).
 */
import { mulberry32, type Random } from "../sandbox/rng.ts";

export interface RpcStatsSnapshot {
  calls: number;
  dbMs: number;
  callMs: number;
  injectedFailures: number;
  injectedByFunction: Record<string, number>;
  byFunction: Record<string, FunctionStats>;
}

interface FunctionStats {
  calls: number;
  dbMs: number;
  callMs: number;
}

export function createRpcStats() {
  let byFunction = new Map<string, FunctionStats>();
  let injectedFailures = 0;
  let injectedByFunction = new Map<string, number>();
  let faultRate = 0;
  let random: Random = mulberry32(0);
  let callsSinceRate = 0;
  let failuresSinceRate = 0;
  let nextFailureAt = Number.POSITIVE_INFINITY;
  /** Where the next failure falls: a seeded place within its own run of 1/rate calls. */
  const placeNextFailure = () => {
    nextFailureAt =
      faultRate > 0 ? Math.floor((failuresSinceRate + random()) / faultRate) : Number.POSITIVE_INFINITY;
  };
  return {
    /** `ms`: the whole transaction (pool wait, begin, role, lookup, call, commit); `callMs`: the call alone. */
    record(name: string, ms: number, callMs: number): number {
      const entry = byFunction.get(name) ?? { calls: 0, dbMs: 0, callMs: 0 };
      entry.calls += 1;
      entry.dbMs += ms;
      entry.callMs += callMs;
      byFunction.set(name, entry);
      return ms;
    },
    setFaultRate(rate: number, seed: number): void {
      if (!(rate >= 0 && rate <= 1)) throw new Error(`fault rate must be within 0..1, got ${rate}`);
      faultRate = rate;
      random = mulberry32(seed);
      callsSinceRate = 0;
      failuresSinceRate = 0;
      placeNextFailure();
    },
    /** Called once per RPC; a seed and the same call sequence replay the same failures. */
    injectFault(name: string): boolean {
      const failed = callsSinceRate === nextFailureAt;
      callsSinceRate += 1;
      if (failed) {
        failuresSinceRate += 1;
        placeNextFailure();
        injectedFailures += 1;
        injectedByFunction.set(name, (injectedByFunction.get(name) ?? 0) + 1);
      }
      return failed;
    },
    snapshot(reset: boolean): RpcStatsSnapshot {
      const entries = Object.fromEntries(byFunction);
      const totals = [...byFunction.values()];
      const snap = {
        calls: totals.reduce((sum, entry) => sum + entry.calls, 0),
        dbMs: totals.reduce((sum, entry) => sum + entry.dbMs, 0),
        callMs: totals.reduce((sum, entry) => sum + entry.callMs, 0),
        injectedFailures,
        injectedByFunction: Object.fromEntries(injectedByFunction),
        byFunction: entries,
      };
      if (reset) {
        byFunction = new Map();
        injectedFailures = 0;
        injectedByFunction = new Map();
      }
      return snap;
    },
  };
}
