import { describe, expect, it } from "vitest";
import { formatDuration, formatRate, niceCeiling } from "../../../src/admin/ui/overview/format.ts";

describe("overview numbers in human units", () => {
  it.each([
    [0, "0 ms", "0 毫秒"],
    [850, "850 ms", "850 毫秒"],
    [999.6, "1.0 s", "1.0 秒"],
    [2_100, "2.1 s", "2.1 秒"],
    [9_960, "10 s", "10 秒"],
    [42_400, "42 s", "42 秒"],
    [59_600, "1 min", "1 分"],
    [123_000, "2 min 3 s", "2 分 3 秒"],
    [122_588, "2 min 3 s", "2 分 3 秒"],
    [3_840_000, "1 h 4 min", "1 小时 4 分"],
    [7_200_000, "2 h", "2 小时"],
    [2 * 86_400_000 + 3 * 3_600_000, "2 d 3 h", "2 天 3 小时"],
  ])("%d ms → %s / %s", (ms, en, zh) => {
    expect(formatDuration(ms, "en")).toBe(en);
    expect(formatDuration(ms, "zh")).toBe(zh);
  });

  it("rates as percentages, none as a dash", () => {
    expect(formatRate(0.97674)).toBe("97.7%");
    expect(formatRate(1)).toBe("100.0%");
    expect(formatRate(null)).toBe("–");
  });

  it("rounds an axis top up to a value whose half is whole", () => {
    expect([0, 1, 2, 3, 5, 7, 10, 11, 25, 61, 100, 101].map(niceCeiling)).toEqual([
      2, 2, 2, 4, 6, 10, 10, 20, 40, 100, 100, 200,
    ]);
  });
});
