/**
 * What happens to each simulated order, decided from the seed alone (so a seed replays the same
 * scenario): its provider, its user, and its fate (paid, paid with the success page opened, abandoned,
 * paid then refunded once or twice, refunded with the refund failing afterwards, disputed, paid by an
 * async method, free under a 100 % promotion code, or paid the wrong amount), with what its later facts do.
 */
import { mulberry32 } from "../../dev/sandbox/rng.ts";

export type Fate =
  | "pay"
  | "pay_confirm"
  | "abandon"
  | "refund"
  | "refund_twice"
  | "refund_fail"
  | "dispute"
  | "async"
  | "free"
  | "mismatch";
export type Provider = "stripe" | "wechatpay";
/** How a dispute ends within the run; `open` stays undecided. */
export type DisputeOutcome = "won" | "lost" | "open";

export interface OrderPlan {
  index: number;
  provider: Provider;
  userIndex: number;
  fate: Fate;
  /** Wait before the success page is opened (pay_confirm only). */
  confirmDelayMs: number;
  /** What the later facts do, drawn for every order (each fate reads its own). */
  later: LaterFacts;
}

export interface LaterFacts {
  /** Wait between one later fact and the next (a refund and its failure, a dispute and its decision). */
  stepDelayMs: number;
  /** refund_twice: the second refund takes the rest (refunded) or another third (partially refunded). */
  secondRefundTakesRest: boolean;
  /** refund_fail: the merchant refunds again after the failure. */
  refundAgain: boolean;
  disputeOutcome: DisputeOutcome;
  /** dispute: the whole amount, else half of it. */
  disputeWholeAmount: boolean;
  /** async: the bank debit succeeds, else it fails (the order is never paid). */
  asyncSucceeds: boolean;
}

/**
 * Cumulative shares of each fate: the new facts (second refunds, refunds failing after success,
 * disputes, async and free payments) a few % of the orders each.
 */
const FATES: Array<[Fate, number]> = [
  ["pay", 0.56],
  ["pay_confirm", 0.68],
  ["abandon", 0.82],
  ["refund", 0.89],
  ["refund_twice", 0.91],
  ["refund_fail", 0.93],
  ["dispute", 0.96],
  ["async", 0.97],
  ["free", 0.98],
  ["mismatch", 1],
];
/** Facts only Stripe has: WeChat refunds never fail after SUCCESS, and WeChat has no disputes, async methods or free checkouts. */
const STRIPE_ONLY: ReadonlySet<Fate> = new Set(["refund_fail", "dispute", "async", "free"]);
const ORDERS_PER_USER = 5;
const CONFIRM_DELAY_MAX_MS = 300;
const STEP_DELAY_MAX_MS = 300;
const DISPUTE_WON_SHARE = 0.4;
const DISPUTE_LOST_SHARE = 0.4;
const DISPUTE_WHOLE_SHARE = 0.75;
const ASYNC_SUCCESS_SHARE = 0.75;

function laterFacts(random: () => number): LaterFacts {
  const [step, second, again, outcome, whole, async] = [
    random(),
    random(),
    random(),
    random(),
    random(),
    random(),
  ];
  return {
    stepDelayMs: Math.floor(step * STEP_DELAY_MAX_MS),
    secondRefundTakesRest: second < 0.5,
    refundAgain: again < 0.5,
    disputeOutcome:
      outcome < DISPUTE_WON_SHARE
        ? "won"
        : outcome < DISPUTE_WON_SHARE + DISPUTE_LOST_SHARE
          ? "lost"
          : "open",
    disputeWholeAmount: whole < DISPUTE_WHOLE_SHARE,
    asyncSucceeds: async < ASYNC_SUCCESS_SHARE,
  };
}

export function planOrders(seed: number, orders: number, wechatAbandons: boolean): OrderPlan[] {
  const random = mulberry32(seed);
  const users = Math.max(1, Math.ceil(orders / ORDERS_PER_USER));
  return Array.from({ length: orders }, (_, index) => {
    const [p, u, f, d] = [random(), random(), random(), random()];
    const later = laterFacts(random);
    const fate: Fate = FATES.find(([, upTo]) => f < upTo)?.[0] ?? "pay";
    const stripeOnly = STRIPE_ONLY.has(fate) || (fate === "abandon" && !wechatAbandons);
    const provider: Provider = p < 0.5 || stripeOnly ? "stripe" : "wechatpay";
    return {
      index,
      provider,
      userIndex: Math.floor(u * users),
      fate,
      confirmDelayMs: Math.floor(d * CONFIRM_DELAY_MAX_MS),
      later,
    };
  });
}

/** Whether the order ends paid at the provider (so it must be credited), as its plan says. */
export const endsPaid = (plan: OrderPlan): boolean =>
  plan.fate !== "abandon" &&
  plan.fate !== "mismatch" &&
  !(plan.fate === "async" && !plan.later.asyncSucceeds);
