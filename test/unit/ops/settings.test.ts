import { describe, expect, it } from "vitest";
import { parseOpsSettings, THRESHOLD_DEFAULTS } from "../../../src/ops/settings.ts";

describe("operations settings", () => {
  it("named defaults when nothing is set", () => {
    const problems: string[] = [];
    const settings = parseOpsSettings({}, problems);
    expect(problems).toEqual([]);
    expect(settings.reportTimeZone).toBe("UTC");
    expect(settings.thresholds).toEqual({
      windowMs: THRESHOLD_DEFAULTS.ALERT_WINDOW_MINUTES * 60_000,
      callbackFailureRate: THRESHOLD_DEFAULTS.ALERT_CALLBACK_FAILURE_RATE,
      callbackMinDeliveries: THRESHOLD_DEFAULTS.ALERT_CALLBACK_MIN_DELIVERIES,
      outOfSyncCount: THRESHOLD_DEFAULTS.ALERT_OUT_OF_SYNC_COUNT,
      outOfSyncAgeMs: THRESHOLD_DEFAULTS.ALERT_OUT_OF_SYNC_AGE_MINUTES * 60_000,
      paymentSuccessRateMin: THRESHOLD_DEFAULTS.ALERT_PAYMENT_SUCCESS_RATE_MIN,
      paymentMinOrders: THRESHOLD_DEFAULTS.ALERT_PAYMENT_MIN_ORDERS,
      reconcileRepairsMax: THRESHOLD_DEFAULTS.ALERT_RECONCILE_REPAIRS_MAX,
    });
  });

  it("set values are used, and each invalid one is reported by name", () => {
    const problems: string[] = [];
    const settings = parseOpsSettings(
      {
        ALERT_WINDOW_MINUTES: "15",
        ALERT_CALLBACK_FAILURE_RATE: "0.5",
        REPORT_TIME_ZONE: "Asia/Shanghai",
        ALERT_PAYMENT_SUCCESS_RATE_MIN: "1.5",
        ALERT_RECONCILE_REPAIRS_MAX: "2.5",
      },
      problems,
    );
    expect(settings.thresholds.windowMs).toBe(15 * 60_000);
    expect(settings.thresholds.callbackFailureRate).toBe(0.5);
    expect(settings.reportTimeZone).toBe("Asia/Shanghai");
    expect(problems).toEqual([
      "ALERT_PAYMENT_SUCCESS_RATE_MIN must be a number from 0 to 1",
      "ALERT_RECONCILE_REPAIRS_MAX must be a whole number ≥ 1",
    ]);
    parseOpsSettings({ REPORT_TIME_ZONE: "Mars/Olympus" }, problems);
    expect(problems.at(-1)).toContain("REPORT_TIME_ZONE");
  });
});
