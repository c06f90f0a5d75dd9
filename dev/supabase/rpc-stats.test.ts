import { describe, expect, it } from "vitest";
import { createRpcStats } from "./rpc-stats.ts";

const draws = (seed: number, rate: number, n: number): boolean[] => {
  const stats = createRpcStats();
  stats.setFaultRate(rate, seed);
  return Array.from({ length: n }, () => stats.injectFault("apply_payment"));
};

describe("stand-in RPC stats and injected database failures", () => {
  it("replays the same failures for the same seed and fails about the requested share", () => {
    const first = draws(7, 0.2, 1000);
    expect(draws(7, 0.2, 1000)).toEqual(first);
    expect(draws(8, 0.2, 1000)).not.toEqual(first);
    const failed = first.filter(Boolean).length;
    expect(failed).toBeGreaterThan(150);
    expect(failed).toBeLessThan(250);
    expect(draws(7, 0, 100).some(Boolean)).toBe(false);
  });

  it("counts calls and time per function and resets on request", () => {
    const stats = createRpcStats();
    stats.record("record_event", 2, 1);
    stats.record("record_event", 4, 3);
    stats.setFaultRate(1, 1);
    stats.injectFault("finish_event");
    const snap = stats.snapshot(true);
    expect(snap).toMatchObject({ calls: 2, dbMs: 6, callMs: 4, injectedFailures: 1 });
    expect(snap.byFunction.record_event).toEqual({ calls: 2, dbMs: 6, callMs: 4 });
    expect(snap.injectedByFunction).toEqual({ finish_event: 1 });
    expect(stats.snapshot(false)).toMatchObject({ calls: 0, injectedFailures: 0 });
  });

  it("refuses a rate outside 0..1", () => {
    expect(() => createRpcStats().setFaultRate(1.5, 1)).toThrow(/0\.\.1/);
  });
});
