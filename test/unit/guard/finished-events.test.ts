/**
 * The bounded memory of finished events one OrderGuard object keeps for all of its orders: a known event
 * is answered from it, and past the bound the least recently seen is forgotten first.
 */
import { describe, expect, it } from "vitest";
import { createFinishedEvents, FINISHED_EVENTS_PER_GUARD_MAX } from "../../../src/guard/finished-events.ts";

describe("finished events", () => {
  it("remembers an event per provider", () => {
    const finished = createFinishedEvents();
    finished.add("stripe", "evt_1");
    expect(finished.has("stripe", "evt_1")).toBe(true);
    expect(finished.has("wechatpay", "evt_1")).toBe(false);
    expect(finished.has("stripe", "evt_2")).toBe(false);
  });

  it("holds at most its bound, forgetting the least recently seen first", () => {
    const finished = createFinishedEvents(3);
    for (const id of ["a", "b", "c"]) finished.add("stripe", id);
    expect(finished.has("stripe", "a")).toBe(true); // seen again: now the most recent
    finished.add("stripe", "d");
    expect(finished.size).toBe(3);
    expect(finished.has("stripe", "b")).toBe(false);
    expect(["a", "c", "d"].map((id) => finished.has("stripe", id))).toEqual([true, true, true]);
  });

  it("stays within FINISHED_EVENTS_PER_GUARD_MAX however many events an object finishes", () => {
    const finished = createFinishedEvents();
    for (let i = 0; i < FINISHED_EVENTS_PER_GUARD_MAX * 3; i++) finished.add("stripe", `evt_${i}`);
    expect(finished.size).toBe(FINISHED_EVENTS_PER_GUARD_MAX);
    expect(finished.has("stripe", `evt_${FINISHED_EVENTS_PER_GUARD_MAX * 3 - 1}`)).toBe(true);
    expect(finished.has("stripe", "evt_0")).toBe(false);
  });
});
