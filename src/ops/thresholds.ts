/**
 * Threshold alerts, evaluated in the 5-minute reconcile tick over a sliding window (src/ops/settings.ts):
 * callback failure rate per provider, orders out of sync, payment success rate, and how many orders the
 * tick itself had to repair. Each check owns one `threshold:` incident key, raised while over its threshold
 * and resolved once back under it.
 */
import type { Deps } from "../deps.ts";
import type { IncidentInput } from "../ledger/ports.ts";
import { setIncident } from "../reconcile/incidents.ts";
import type { ThresholdSettings } from "./settings.ts";
import type { ThresholdStats } from "./store.ts";

export const THRESHOLD_PREFIX = "threshold:";
const PROVIDERS = ["stripe", "wechatpay"] as const;

type Finding = Omit<IncidentInput, "key"> | null;

const percent = (rate: number) => `${Math.round(rate * 1000) / 10}%`;
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export function callbackFinding(
  provider: string,
  counts: { deliveries: number; failed: number } | undefined,
  limits: ThresholdSettings,
): Finding {
  if (!counts || counts.deliveries < limits.callbackMinDeliveries) return null;
  const rate = counts.failed / counts.deliveries;
  if (rate <= limits.callbackFailureRate) return null;
  return {
    kind: "callback_failure_rate",
    severity: "critical",
    summary: `${provider} callbacks failing: ${counts.failed} of ${counts.deliveries} deliveries (${percent(rate)}) in the last ${minutes(limits.windowMs)}, above ${percent(limits.callbackFailureRate)}`,
    detail: { provider, ...counts, rate, threshold: limits.callbackFailureRate },
  };
}

export function outOfSyncFinding(stats: ThresholdStats["out_of_sync"], limits: ThresholdSettings): Finding {
  const tooMany = stats.count > limits.outOfSyncCount;
  const tooOld = stats.count > 0 && stats.oldest_lag_s * 1000 > limits.outOfSyncAgeMs;
  if (!tooMany && !tooOld) return null;
  return {
    kind: "orders_out_of_sync",
    severity: "critical",
    summary: `${stats.count} paid orders were not credited by their callback (longest wait ${minutes(stats.oldest_lag_s * 1000)}); limits ${limits.outOfSyncCount} orders / ${minutes(limits.outOfSyncAgeMs)}`,
    detail: {
      orders_affected: stats.count,
      oldest_lag_s: stats.oldest_lag_s,
      count_threshold: limits.outOfSyncCount,
      age_threshold_s: limits.outOfSyncAgeMs / 1000,
    },
  };
}

export function paymentSuccessFinding(stats: ThresholdStats["payments"], limits: ThresholdSettings): Finding {
  if (stats.created < limits.paymentMinOrders) return null;
  const rate = stats.paid / stats.created;
  if (rate >= limits.paymentSuccessRateMin) return null;
  return {
    kind: "payment_success_rate",
    severity: "warning",
    summary: `Payment success rate ${percent(rate)} (${stats.paid} of ${stats.created} orders) in the last ${minutes(limits.windowMs)}, below ${percent(limits.paymentSuccessRateMin)}`,
    detail: { ...stats, rate, threshold: limits.paymentSuccessRateMin },
  };
}

export function reconcileRepairsFinding(repaired: number, limits: ThresholdSettings): Finding {
  if (repaired <= limits.reconcileRepairsMax) return null;
  return {
    kind: "reconcile_repairs",
    severity: "critical",
    summary: `Reconciliation settled ${repaired} orders in one tick (more than ${limits.reconcileRepairsMax}): the callback path is probably broken`,
    detail: { orders_affected: repaired, threshold: limits.reconcileRepairsMax },
  };
}

/** Pure: every check's finding (null = under its threshold), by the check's incident key. */
export function thresholdFindings(
  stats: ThresholdStats,
  repairedThisTick: number,
  limits: ThresholdSettings,
): Record<string, Finding> {
  return {
    ...Object.fromEntries(
      PROVIDERS.map((provider) => [
        `${THRESHOLD_PREFIX}callback_failure_rate:${provider}`,
        callbackFinding(provider, stats.callbacks[provider], limits),
      ]),
    ),
    [`${THRESHOLD_PREFIX}orders_out_of_sync`]: outOfSyncFinding(stats.out_of_sync, limits),
    [`${THRESHOLD_PREFIX}payment_success_rate`]: paymentSuccessFinding(stats.payments, limits),
    [`${THRESHOLD_PREFIX}reconcile_repairs`]: reconcileRepairsFinding(repairedThisTick, limits),
  };
}

/** `repairedThisTick`: orders the reconcile tick settled (due orders plus backfilled events). */
export async function checkThresholds(deps: Deps, repairedThisTick: number, nowMs: number) {
  const limits = deps.config.ops.thresholds;
  const stats = await deps.ops.thresholdStats(nowMs - limits.windowMs, nowMs);
  if (!stats.ok) throw new Error(`threshold stats: ${stats.error.message}`);
  const findings = thresholdFindings(stats.value, repairedThisTick, limits);
  for (const [key, finding] of Object.entries(findings)) await setIncident(deps, key, finding, nowMs);
  return {
    failing: Object.entries(findings).flatMap(([key, finding]) => (finding ? [key] : [])),
    stats: stats.value,
  };
}
