import { describe, expect, it } from "vitest";
import { lastFullWeek, reportDue, weekStarting } from "../../../src/ops/weekly-report.ts";

const at = (iso: string) => Date.parse(iso);

describe("weekly report schedule", () => {
  it("is due on Monday from 09:00 local, for the week that ended at local Monday 00:00", () => {
    expect(reportDue(at("2026-11-23T08:59:59Z"), "UTC")).toBeNull();
    expect(reportDue(at("2026-11-23T09:00:00Z"), "UTC")).toEqual({
      weekStart: "2026-11-16",
      fromMs: at("2026-11-16T00:00:00Z"),
      toMs: at("2026-11-23T00:00:00Z"),
    });
    expect(reportDue(at("2026-11-24T09:00:00Z"), "UTC")).toBeNull();
  });

  it("follows the configured time zone", () => {
    // Monday 09:30 in Shanghai is Monday 01:30 UTC; its week ended Sunday 16:00 UTC.
    expect(reportDue(at("2026-11-23T01:30:00Z"), "Asia/Shanghai")).toEqual({
      weekStart: "2026-11-16",
      fromMs: at("2026-11-15T16:00:00Z"),
      toMs: at("2026-11-22T16:00:00Z"),
    });
    // Monday 09:00 UTC is 01:00 in Los Angeles: not yet.
    expect(reportDue(at("2026-11-23T09:00:00Z"), "America/Los_Angeles")).toBeNull();
  });

  it("any moment of a week maps to the same last full week; a week is asked for by its Monday", () => {
    expect(lastFullWeek(at("2026-11-29T23:00:00Z"), "UTC").weekStart).toBe("2026-11-16");
    expect(weekStarting("2026-11-16", "Asia/Shanghai")).toEqual(
      lastFullWeek(at("2026-11-23T01:30:00Z"), "Asia/Shanghai"),
    );
    expect(weekStarting("2026-11-17", "UTC")).toBeNull();
    expect(weekStarting("not-a-date", "UTC")).toBeNull();
  });
});
