import { describe, expect, it } from "vitest";
import { parseOpsSettings } from "../../../src/ops/settings.ts";
import { thresholdFindings } from "../../../src/ops/thresholds.ts";

const limits = parseOpsSettings({}, []).thresholds;
const quiet = {
  callbacks: { stripe: { deliveries: 100, failed: 20 } },
  out_of_sync: { count: 5, oldest_lag_s: 30 * 60 },
  payments: { created: 100, paid: 20 },
};
const failing = (findings: Record<string, unknown>) =>
  Object.entries(findings).flatMap(([key, finding]) => (finding ? [key] : []));

describe("threshold findings", () => {
  it("exactly at every threshold nothing fires", () => {
    expect(failing(thresholdFindings(quiet, limits.reconcileRepairsMax, limits))).toEqual([]);
  });

  it("each check fires just past its threshold", () => {
    const stats = {
      callbacks: { stripe: { deliveries: 100, failed: 21 }, wechatpay: { deliveries: 10, failed: 3 } },
      out_of_sync: { count: 6, oldest_lag_s: 60 },
      payments: { created: 100, paid: 19 },
    };
    expect(failing(thresholdFindings(stats, limits.reconcileRepairsMax + 1, limits))).toEqual([
      "threshold:callback_failure_rate:stripe",
      "threshold:callback_failure_rate:wechatpay",
      "threshold:orders_out_of_sync",
      "threshold:payment_success_rate",
      "threshold:reconcile_repairs",
    ]);
  });

  it("rates wait for their minimum sample; one order out of sync too long is enough", () => {
    const stats = {
      callbacks: { wechatpay: { deliveries: 9, failed: 9 } },
      out_of_sync: { count: 1, oldest_lag_s: 31 * 60 },
      payments: { created: 19, paid: 0 },
    };
    expect(failing(thresholdFindings(stats, 0, limits))).toEqual(["threshold:orders_out_of_sync"]);
  });
});
