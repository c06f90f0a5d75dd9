/** The `/health` snapshot cache: one load per TTL however many ask, shared by concurrent callers. */
import { describe, expect, it } from "vitest";
import { createTtlCache } from "../../src/http/ttl-cache.ts";

const TTL_MS = 10_000;

describe("createTtlCache", () => {
  it("loads once per TTL, shares one load between concurrent callers and forgets a failed load", async () => {
    const cache = createTtlCache<number>(TTL_MS);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return loads;
    };
    const together = await Promise.all(Array.from({ length: 20 }, () => cache.get(1_000, load)));
    expect(together.every((got) => got.value === 1 && got.loadedAtMs === 1_000)).toBe(true);
    expect(await cache.get(1_000 + TTL_MS - 1, load)).toEqual({ value: 1, loadedAtMs: 1_000 });
    expect(loads).toBe(1);
    expect(await cache.get(1_000 + TTL_MS, load)).toEqual({ value: 2, loadedAtMs: 1_000 + TTL_MS });

    const failing = createTtlCache<number>(TTL_MS);
    await expect(failing.get(0, () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await failing.get(1, load)).toEqual({ value: 3, loadedAtMs: 1 });
  });
});
