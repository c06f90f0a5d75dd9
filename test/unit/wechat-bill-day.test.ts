import { describe, expect, it } from "vitest";
import { incidentForFinding, previousBeijingDay } from "../../src/reconcile/wechat-bill.ts";

describe("previousBeijingDay", () => {
  it("is yesterday in Beijing when the cron fires at 02:30 UTC", () => {
    expect(previousBeijingDay(Date.UTC(2026, 10, 22, 2, 30))).toEqual({
      billDate: "2026-11-21",
      fromMs: Date.UTC(2026, 10, 20, 16, 0),
      toMs: Date.UTC(2026, 10, 21, 16, 0),
    });
  });

  it("follows the Beijing date, not the UTC date, late in the UTC day", () => {
    expect(previousBeijingDay(Date.UTC(2026, 10, 22, 17, 0)).billDate).toBe("2026-11-22");
  });
});

describe("incidentForFinding", () => {
  it("keys incidents by kind and order so a day checked twice opens nothing new", () => {
    const incident = incidentForFinding("2026-11-21", {
      kind: "missing_there",
      orderId: "ord_1",
      paymentRef: null,
    });
    expect(incident).toMatchObject({
      key: "bill_missing_there:ord_1",
      kind: "bill_missing_there",
      severity: "warning",
    });
  });
});
