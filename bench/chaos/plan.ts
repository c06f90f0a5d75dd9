/**
 * What happens to each simulated order, decided from the seed alone (so a seed replays the same
 * scenario): its provider, its user, and its fate (paid, paid with the success page opened, abandoned,
 * paid then refunded, or paid the wrong amount).
 */
import { mulberry32 } from "../../dev/sandbox/rng.ts";

export type Fate = "pay" | "pay_confirm" | "abandon" | "refund" | "mismatch";
export type Provider = "stripe" | "wechatpay";

export interface OrderPlan {
  index: number;
  provider: Provider;
  userIndex: number;
  fate: Fate;
  /** Wait before the success page is opened (pay_confirm only). */
  confirmDelayMs: number;
}

/** Cumulative shares of each fate. */
const FATES: Array<[Fate, number]> = [
  ["pay", 0.62],
  ["pay_confirm", 0.75],
  ["abandon", 0.9],
  ["refund", 0.98],
  ["mismatch", 1],
];
const ORDERS_PER_USER = 5;
const CONFIRM_DELAY_MAX_MS = 300;

export function planOrders(seed: number, orders: number, wechatAbandons: boolean): OrderPlan[] {
  const random = mulberry32(seed);
  const users = Math.max(1, Math.ceil(orders / ORDERS_PER_USER));
  return Array.from({ length: orders }, (_, index) => {
    const [p, u, f, d] = [random(), random(), random(), random()];
    const fate: Fate = FATES.find(([, upTo]) => f < upTo)?.[0] ?? "pay";
    const provider: Provider = p < 0.5 || (fate === "abandon" && !wechatAbandons) ? "stripe" : "wechatpay";
    return {
      index,
      provider,
      userIndex: Math.floor(u * users),
      fate,
      confirmDelayMs: Math.floor(d * CONFIRM_DELAY_MAX_MS),
    };
  });
}
