/**
 * Operations settings: the threshold alerts' window and limits, and the weekly report's time zone. Each has
 * a named default; a set but invalid value is a configuration problem reported by name (src/env.ts).
 */

export interface ThresholdSettings {
  /** The sliding window every rate and count is taken over. */
  windowMs: number;
  /** Callback failure rate per provider (failed deliveries / deliveries) above which an incident opens… */
  callbackFailureRate: number;
  /** …once the provider made at least this many deliveries in the window. */
  callbackMinDeliveries: number;
  /** Orders paid at the provider but not credited by their callback: more than this many… */
  outOfSyncCount: number;
  /** …or one of them waiting longer than this between paid and credited. */
  outOfSyncAgeMs: number;
  /** Paid / created orders in the window below this rate… */
  paymentSuccessRateMin: number;
  /** …once at least this many orders were created in the window. */
  paymentMinOrders: number;
  /** One reconcile tick settling more than this many orders means the callback path is probably broken. */
  reconcileRepairsMax: number;
}

export interface OpsSettings {
  thresholds: ThresholdSettings;
  /** IANA time zone of the weekly report (Monday 09:00 there). */
  reportTimeZone: string;
}

export const THRESHOLD_DEFAULTS = {
  ALERT_WINDOW_MINUTES: 60,
  ALERT_CALLBACK_FAILURE_RATE: 0.2,
  ALERT_CALLBACK_MIN_DELIVERIES: 10,
  ALERT_OUT_OF_SYNC_COUNT: 5,
  ALERT_OUT_OF_SYNC_AGE_MINUTES: 30,
  ALERT_PAYMENT_SUCCESS_RATE_MIN: 0.2,
  ALERT_PAYMENT_MIN_ORDERS: 20,
  ALERT_RECONCILE_REPAIRS_MAX: 10,
} as const;

export const REPORT_TIME_ZONE_DEFAULT = "UTC";

type RawEnv = Record<string, unknown>;
type Name = keyof typeof THRESHOLD_DEFAULTS;

function number(env: RawEnv, name: Name, kind: "count" | "rate", problems: string[]): number {
  const raw = typeof env[name] === "string" ? (env[name] as string).trim() : "";
  if (!raw) return THRESHOLD_DEFAULTS[name];
  const value = Number(raw);
  const valid =
    kind === "rate"
      ? Number.isFinite(value) && value >= 0 && value <= 1
      : Number.isInteger(value) && value >= 1;
  if (valid) return value;
  problems.push(`${name} must be ${kind === "rate" ? "a number from 0 to 1" : "a whole number ≥ 1"}`);
  return THRESHOLD_DEFAULTS[name];
}

function timeZone(env: RawEnv, problems: string[]): string {
  const raw = typeof env.REPORT_TIME_ZONE === "string" ? env.REPORT_TIME_ZONE.trim() : "";
  if (!raw) return REPORT_TIME_ZONE_DEFAULT;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: raw }).resolvedOptions().timeZone;
  } catch {
    problems.push("REPORT_TIME_ZONE must be an IANA time zone such as UTC or Asia/Shanghai");
    return REPORT_TIME_ZONE_DEFAULT;
  }
}

/** Pure: collects every problem by name. */
export function parseOpsSettings(env: RawEnv, problems: string[]): OpsSettings {
  const minutes = (name: Name) => number(env, name, "count", problems) * 60_000;
  return {
    thresholds: {
      windowMs: minutes("ALERT_WINDOW_MINUTES"),
      callbackFailureRate: number(env, "ALERT_CALLBACK_FAILURE_RATE", "rate", problems),
      callbackMinDeliveries: number(env, "ALERT_CALLBACK_MIN_DELIVERIES", "count", problems),
      outOfSyncCount: number(env, "ALERT_OUT_OF_SYNC_COUNT", "count", problems),
      outOfSyncAgeMs: minutes("ALERT_OUT_OF_SYNC_AGE_MINUTES"),
      paymentSuccessRateMin: number(env, "ALERT_PAYMENT_SUCCESS_RATE_MIN", "rate", problems),
      paymentMinOrders: number(env, "ALERT_PAYMENT_MIN_ORDERS", "count", problems),
      reconcileRepairsMax: number(env, "ALERT_RECONCILE_REPAIRS_MAX", "count", problems),
    },
    reportTimeZone: timeZone(env, problems),
  };
}
