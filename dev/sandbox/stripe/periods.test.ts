// The billing arithmetic on its own: period boundaries across short months, proration rounding, and the
// words Stripe puts on invoice lines.
import { describe, expect, it } from "vitest";
import type { Recurring } from "./billing-types.ts";
import {
  cycleLineDescription,
  nextBoundary,
  periodBoundary,
  prorate,
  prorationDescription,
} from "./periods.ts";

const every = (interval: Recurring["interval"], count = 1): Recurring => ({
  interval,
  interval_count: count,
  meter: null,
  trial_period_days: null,
  usage_type: "licensed",
});
const s = (iso: string) => Date.parse(iso) / 1000;
const iso = (atS: number) => new Date(atS * 1000).toISOString();

describe("period boundaries", () => {
  it("keeps a month-end anchor: 31 Jan, 28 Feb, 31 Mar, at the anchor's time of day", () => {
    const anchor = s("2027-01-31T09:30:15Z");
    expect([1, 2, 3].map((n) => iso(periodBoundary(anchor, every("month"), n)))).toEqual([
      "2027-02-28T09:30:15.000Z",
      "2027-03-31T09:30:15.000Z",
      "2027-04-30T09:30:15.000Z",
    ]);
    expect(iso(periodBoundary(s("2028-02-29T00:00:00Z"), every("year"), 1))).toBe("2029-02-28T00:00:00.000Z");
    expect(iso(periodBoundary(anchor, every("month", 3), 1))).toBe("2027-04-30T09:30:15.000Z");
    expect(periodBoundary(anchor, every("week", 2), 1) - anchor).toBe(14 * 24 * 60 * 60);
  });

  it("finds the first boundary after a moment, however far on", () => {
    const anchor = s("2026-01-31T00:00:00Z");
    expect(iso(nextBoundary(anchor, every("month"), s("2026-03-31T00:00:00Z")))).toBe(
      "2026-04-30T00:00:00.000Z",
    );
    expect(iso(nextBoundary(anchor, every("month"), s("2046-01-15T00:00:00Z")))).toBe(
      "2046-01-31T00:00:00.000Z",
    );
    expect(nextBoundary(anchor, every("day"), anchor)).toBe(anchor + 24 * 60 * 60);
  });
});

describe("prorations", () => {
  it("is the amount times the share of the period left, to the nearest minor unit, halves away from zero", () => {
    expect(prorate(1000, 1_785_600, 2_678_400)).toBe(667);
    expect(prorate(2500, 892_800, 2_678_400)).toBe(833);
    expect(prorate(1, 1, 2)).toBe(1);
    expect(prorate(-1, 1, 2)).toBe(-1);
    expect(prorate(999_999_999, 31_622_400, 31_622_400)).toBe(999_999_999);
  });

  it("describes lines as Stripe does", () => {
    expect(cycleLineDescription(1, "Pro", 1000, "usd", every("month"))).toBe("1 × Pro (at $10.00 / month)");
    expect(cycleLineDescription(2, "Pro", 3000, "eur", every("month", 3))).toBe(
      "2 × Pro (at €30.00 every 3 months)",
    );
    expect(prorationDescription("Unused", 1, "Pro", s("2026-09-05T12:00:00Z"))).toBe(
      "Unused time on Pro after 05 Sep 2026",
    );
    expect(prorationDescription("Remaining", 2, "Team", s("2026-03-11T08:00:00Z"))).toBe(
      "Remaining time on 2 × Team after 11 Mar 2026",
    );
  });
});
