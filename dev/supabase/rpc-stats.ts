/**
 * What the stand-in measures for benchmarks and injects for the chaos simulation: RPC counts and time
 * inside the database transaction per function, a seeded share of RPCs failed as transient 503s before
 * they reach the database, and a seeded share whose connection is lost inside the transaction, after the
 * function ran and before the commit (57P01: nothing committed, the caller must not acknowledge it).
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
  /** Connections lost mid-transaction (rolled back), of the calls that were not failed before. */
  lostConnections: number;
  lostByFunction: Record<string, number>;
  byFunction: Record<string, FunctionStats>;
}

interface FunctionStats {
  calls: number;
  dbMs: number;
  callMs: number;
}

/** Seeds the lost-connection stream apart from the 503 stream, so adding one never moves the other. */
const LOST_STREAM_SEED_XOR = 0x5f3759df;

/** One seeded spread of hits at `rate`: true at the k-th hit's place within the k-th run of 1/rate calls. */
function spread(rate: number, random: Random): () => boolean {
  let calls = 0;
  let hits = 0;
  const place = () => (rate > 0 ? Math.floor((hits + random()) / rate) : Number.POSITIVE_INFINITY);
  let next = place();
  return () => {
    const hit = calls === next;
    calls += 1;
    if (hit) {
      hits += 1;
      next = place();
    }
    return hit;
  };
}

const never = () => false;

export function createRpcStats() {
  let byFunction = new Map<string, FunctionStats>();
  let injectedFailures = 0;
  let injectedByFunction = new Map<string, number>();
  let lostConnections = 0;
  let lostByFunction = new Map<string, number>();
  let failNext = never;
  let loseNext = never;
  const count = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
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
    setFaultRate(rate: number, seed: number, lostRate = 0): void {
      for (const share of [rate, lostRate])
        if (!(share >= 0 && share <= 1)) throw new Error(`fault rate must be within 0..1, got ${share}`);
      failNext = spread(rate, mulberry32(seed));
      loseNext = spread(lostRate, mulberry32(seed ^ LOST_STREAM_SEED_XOR));
    },
    /** Called once per RPC; a seed and the same call sequence replay the same failures. */
    injectFault(name: string): boolean {
      const failed = failNext();
      if (failed) {
        injectedFailures += 1;
        count(injectedByFunction, name);
      }
      return failed;
    },
    /** Called once per RPC that reaches the database: true when its connection is to be lost before commit. */
    injectLostConnection(name: string): boolean {
      const lost = loseNext();
      if (lost) {
        lostConnections += 1;
        count(lostByFunction, name);
      }
      return lost;
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
        lostConnections,
        lostByFunction: Object.fromEntries(lostByFunction),
        byFunction: entries,
      };
      if (reset) {
        byFunction = new Map();
        injectedFailures = 0;
        injectedByFunction = new Map();
        lostConnections = 0;
        lostByFunction = new Map();
      }
      return snap;
    },
  };
}
