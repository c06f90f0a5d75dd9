// Delivery fault configuration and the pure decision "what happens to this delivery": a matching rule
// first (per event id / type / provider, optionally for the next N or a seeded share of them), else seeded
// rates. Every notification a simulator emits passes here, payments and refunds alike: a rule matching
// `{ provider: "wechatpay", eventType: "REFUND.SUCCESS" }` with `rate` drops or duplicates that share of
// WeChat refund notifications only, beside the rates every delivery draws.
import type { QueuedDelivery } from "./http.ts";
import type { Random } from "./rng.ts";

export const DELIVERY_ATTEMPTS_MAX = 5;
export const DELIVERY_RETRY_BASE_MS = 1_000;
export const RATE_DELAY_MAX_MS = 500;

export type FaultAction = "drop" | "duplicate" | "delay" | "hold" | "reorder";

export interface DeliveryFaultRule {
  match?: { provider?: "stripe" | "wechatpay"; eventType?: string; eventId?: string };
  /** How many matching deliveries the rule applies to; absent = every one. */
  count?: number;
  /** The seeded share (0–1) of matching deliveries the rule takes; the rest go on to later rules and the rates. */
  rate?: number;
  action: FaultAction;
  /** duplicate: extra copies sent at the same time as the original */
  copies?: number;
  /** delay: wait before the first attempt */
  delayMs?: number;
  /** hold: send once the sandbox clock reaches this epoch ms (e.g. after the order expired) */
  untilMs?: number;
  /** reorder: collect this many deliveries, then send them in a shuffled order */
  window?: number;
}

export interface DeliveryFaultRates {
  drop?: number;
  duplicate?: number;
  reorder?: number;
  delay?: number;
  delayMaxMs?: number;
}

export interface DeliveryFaults {
  rules: DeliveryFaultRule[];
  rates: DeliveryFaultRates;
  attemptsMax: number;
  retryBaseMs: number;
}

export const noDeliveryFaults = (): DeliveryFaults => ({
  rules: [],
  rates: {},
  attemptsMax: DELIVERY_ATTEMPTS_MAX,
  retryBaseMs: DELIVERY_RETRY_BASE_MS,
});

export interface Decision {
  action: FaultAction | null;
  rule?: DeliveryFaultRule;
  delayMs: number;
}

export function eventTypeOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { type?: unknown; event_type?: unknown };
    const type = parsed.type ?? parsed.event_type;
    return typeof type === "string" ? type : null;
  } catch {
    return null;
  }
}

function ruleMatches(rule: DeliveryFaultRule, delivery: QueuedDelivery, eventType: string | null): boolean {
  const match = rule.match ?? {};
  return (
    (rule.count === undefined || rule.count > 0) &&
    (match.provider === undefined || match.provider === delivery.provider) &&
    (match.eventId === undefined || match.eventId === delivery.eventId) &&
    (match.eventType === undefined || match.eventType === eventType)
  );
}

/**
 * Always draws the same number of values for one configuration (five, plus one per rule with a rate,
 * whether it matches or not), so one rule firing does not shift later decisions.
 */
export function decide(
  faults: DeliveryFaults,
  random: Random,
  delivery: QueuedDelivery,
  eventType: string | null,
): Decision {
  const [drop, duplicate, reorder, delay, delayAmount] = [random(), random(), random(), random(), random()];
  const ruleDraws = faults.rules.map((rule) => (rule.rate === undefined ? 0 : random()));
  const rule = faults.rules.find(
    (candidate, index) =>
      ruleMatches(candidate, delivery, eventType) && (ruleDraws[index] ?? 0) < (candidate.rate ?? 1),
  );
  if (rule) {
    if (rule.count !== undefined) rule.count -= 1;
    return { action: rule.action, rule, delayMs: rule.delayMs ?? 0 };
  }
  const { rates } = faults;
  const delayMs = Math.floor(delayAmount * (rates.delayMaxMs ?? RATE_DELAY_MAX_MS));
  if (drop < (rates.drop ?? 0)) return { action: "drop", delayMs: 0 };
  if (duplicate < (rates.duplicate ?? 0)) return { action: "duplicate", delayMs: 0 };
  if (reorder < (rates.reorder ?? 0)) return { action: "reorder", delayMs: 0 };
  if (delay < (rates.delay ?? 0)) return { action: "delay", delayMs };
  return { action: null, delayMs: 0 };
}

const ACTIONS: readonly FaultAction[] = ["drop", "duplicate", "delay", "hold", "reorder"];
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;
const optionalNumber = (value: unknown): boolean =>
  value === undefined || (typeof value === "number" && value >= 0);

function ruleError(rule: unknown, index: number): string | null {
  if (!isObject(rule) || !ACTIONS.includes(rule.action as FaultAction))
    return `rules[${index}].action must be one of ${ACTIONS.join(", ")}`;
  for (const field of ["count", "rate", "copies", "delayMs", "untilMs", "window"])
    if (!optionalNumber(rule[field])) return `rules[${index}].${field} must be a non-negative number`;
  if (rule.match !== undefined && !isObject(rule.match)) return `rules[${index}].match must be an object`;
  return null;
}

/** Validates the `delivery` part of `POST /_control/faults`; unset fields keep their defaults. */
export function parseDeliveryFaults(
  input: unknown,
): { ok: true; faults: DeliveryFaults } | { ok: false; error: string } {
  if (!isObject(input)) return { ok: false, error: "delivery must be an object" };
  const rules = input.rules ?? [];
  if (!Array.isArray(rules)) return { ok: false, error: "delivery.rules must be an array" };
  for (const [index, rule] of rules.entries()) {
    const error = ruleError(rule, index);
    if (error) return { ok: false, error: `delivery.${error}` };
  }
  const rates = input.rates ?? {};
  if (!isObject(rates) || !Object.values(rates).every((rate) => typeof rate === "number" && rate >= 0))
    return { ok: false, error: "delivery.rates must map fault names to numbers" };
  if (!optionalNumber(input.attemptsMax) || !optionalNumber(input.retryBaseMs))
    return { ok: false, error: "delivery.attemptsMax and delivery.retryBaseMs must be non-negative numbers" };
  const defaults = noDeliveryFaults();
  return {
    ok: true,
    faults: {
      rules: structuredClone(rules) as DeliveryFaultRule[],
      rates: rates as DeliveryFaultRates,
      attemptsMax: (input.attemptsMax as number | undefined) ?? defaults.attemptsMax,
      retryBaseMs: (input.retryBaseMs as number | undefined) ?? defaults.retryBaseMs,
    },
  };
}
