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
    expect(first.filter(Boolean)).toHaveLength(200);
    expect(draws(7, 0, 100).some(Boolean)).toBe(false);
    expect(draws(7, 1, 10).every(Boolean)).toBe(true);
  });

  it("fails once in every run of 1/rate calls, so a short run is never spared by chance", () => {
    for (const seed of [1, 7, 11, 12345]) {
      const failed = draws(seed, 0.02, 1000);
      for (let start = 0; start < 1000; start += 50)
        expect(failed.slice(start, start + 50).filter(Boolean), `seed ${seed}, calls ${start}…`).toHaveLength(
          1,
        );
    }
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

  it("spreads lost connections on a stream of their own, leaving the 503s where they were", () => {
    const stats = createRpcStats();
    stats.setFaultRate(0.02, 7, 0.01);
    const failed: boolean[] = [];
    const lost: boolean[] = [];
    for (let call = 0; call < 1000; call += 1) {
      failed.push(stats.injectFault("settle_event"));
      lost.push(stats.injectLostConnection("settle_event"));
    }
    expect(failed).toEqual(draws(7, 0.02, 1000));
    expect(lost.filter(Boolean)).toHaveLength(10);
    expect(stats.snapshot(false)).toMatchObject({
      lostConnections: 10,
      lostByFunction: { settle_event: 10 },
    });
  });

  it("refuses a rate outside 0..1", () => {
    expect(() => createRpcStats().setFaultRate(1.5, 1)).toThrow(/0\.\.1/);
    expect(() => createRpcStats().setFaultRate(0, 1, -1)).toThrow(/0\.\.1/);
  });
});
