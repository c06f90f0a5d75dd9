/**
 * What happens to each simulated subscription, decided from the seed alone like the orders' fates
 * (./plan.ts): its plan (two that accumulate, one that resets), how many periods it renews (2–5), which
 * renewals are declined first and paid by a retry, whether it changes plan mid-period with a prorated
 * invoice, which invoice is refunded (in part or whole) or disputed and when, and how it ends. The
 * plans, the later facts and the endings are dealt like cards (each value an equal share of a seeded
 * shuffle), so even the short run of `npm test` meets every kind.
 */
import { deriveSeed, mulberry32, type Random } from "../../dev/sandbox/rng.ts";
import type { DisputeOutcome } from "./plan.ts";

export type PlanName = "basic" | "pro" | "reset";

export interface ChaosPlan {
  /** The package id (`credit_packages`, `credit_plans.package_id`). */
  id: string;
  /** The Stripe price billing it (`credit_plans.price_ref`, defined at the sandbox under this id). */
  priceRef: string;
  amountMinor: number;
  credits: number;
  expiry: "accumulate" | "reset";
}

/** Monthly USD plans; basic changes to pro mid-period (an upgrade: the proration invoice charges the difference). */
export const CHAOS_PLANS: Record<PlanName, ChaosPlan> = {
  basic: {
    id: "chaos_plan_basic",
    priceRef: "price_chaos_basic",
    amountMinor: 1000,
    credits: 100,
    expiry: "accumulate",
  },
  pro: {
    id: "chaos_plan_pro",
    priceRef: "price_chaos_pro",
    amountMinor: 3000,
    credits: 500,
    expiry: "accumulate",
  },
  reset: {
    id: "chaos_plan_reset",
    priceRef: "price_chaos_reset",
    amountMinor: 1500,
    credits: 200,
    expiry: "reset",
  },
};

export const planOfPrice = (priceRef: string | null): ChaosPlan | undefined =>
  Object.values(CHAOS_PLANS).find((plan) => plan.priceRef === priceRef);

export type LaterKind = "none" | "refund" | "dispute";
/** `active`: left running; `canceled` at the end; `unpaid_canceled`: the last renewal is declined, never paid, and the subscription canceled (as dunning would). */
export type Ending = "active" | "canceled" | "unpaid_canceled";

export interface SubscriptionScenario {
  index: number;
  plan: PlanName;
  renewals: number;
  /** Per renewal (index 0 = the first renewal): declined, then collected again by `invoice/pay`. */
  declinedFirst: boolean[];
  /** basic only: after which full-period invoice (0 = the first) it changes to pro, at this share of that period. */
  upgrade: { afterInvoice: number; periodShare: number } | null;
  later: {
    kind: LaterKind;
    /** Which full-period invoice (0 = the first) is refunded or disputed. */
    invoice: number;
    /** Refunded or disputed after the last renewal (an ended period's invoice), else once that invoice is credited. */
    atEnd: boolean;
    /** The whole amount paid, else half of it. */
    whole: boolean;
    /** Decided after the last renewal (weeks later), or left open. */
    disputeOutcome: DisputeOutcome;
  };
  ending: Ending;
  /** Wait between one step and the next (a renewal, a refund, a plan change). */
  stepDelayMs: number;
}

/** A tenth of the planned work is subscriptions, and at least this many, so a short run has each kind. */
const SUBSCRIPTION_SHARE = 0.1;
const SUBSCRIPTIONS_MIN = 10;
const RENEWALS_MIN = 2;
const RENEWALS_MAX = 5;
const DECLINED_SHARE = 0.15;
const UPGRADE_SHARE = 0.6;
/** Where in the period a plan changes: away from its ends, so both proration lines are real money. */
const UPGRADE_SHARE_MIN = 0.2;
const UPGRADE_SHARE_SPAN = 0.6;
const STEP_DELAY_MAX_MS = 300;
const DISPUTE_WON_SHARE = 0.4;
const DISPUTE_LOST_SHARE = 0.4;
/** The decks: each value an equal share, dealt in a seeded order. */
const PLAN_DECK: PlanName[] = ["basic", "pro", "reset"];
const LATER_DECK: LaterKind[] = ["none", "none", "refund", "refund", "dispute", "dispute"];
const ENDING_DECK: Ending[] = ["active", "active", "active", "canceled", "canceled", "unpaid_canceled"];

export function subscriptionCount(planned: number): number {
  return Math.min(planned - 1, Math.max(SUBSCRIPTIONS_MIN, Math.round(planned * SUBSCRIPTION_SHARE)));
}

/** `count` cards from `deck` repeated, in a seeded order. */
function deal<T>(deck: T[], count: number, random: Random): T[] {
  const cards = Array.from({ length: count }, (_, i) => deck[i % deck.length] as T);
  for (let i = cards.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [cards[i], cards[j]] = [cards[j] as T, cards[i] as T];
  }
  return cards;
}

const outcomeOf = (draw: number): DisputeOutcome =>
  draw < DISPUTE_WON_SHARE ? "won" : draw < DISPUTE_WON_SHARE + DISPUTE_LOST_SHARE ? "lost" : "open";

export function planSubscriptions(seed: number, count: number): SubscriptionScenario[] {
  // A stream of its own: the orders' fates stay what they were for the seed.
  const random = mulberry32(deriveSeed(seed, "chaos-subscriptions"));
  const plans = deal(PLAN_DECK, count, random);
  const laters = deal(LATER_DECK, count, random);
  const endings = deal(ENDING_DECK, count, random);
  return Array.from({ length: count }, (_, index) => {
    const plan = plans[index] as PlanName;
    const ending = endings[index] as Ending;
    const renewals = RENEWALS_MIN + Math.floor(random() * (RENEWALS_MAX - RENEWALS_MIN + 1));
    // Full-period invoices paid: the first and every renewal, but the last when it is never paid.
    const paidInvoices = renewals + (ending === "unpaid_canceled" ? 0 : 1);
    const [up, upAt, upShare, which, atEnd, whole, outcome, delay] = Array.from({ length: 8 }, random);
    return {
      index,
      plan,
      renewals,
      declinedFirst: Array.from({ length: renewals }, () => random() < DECLINED_SHARE),
      upgrade:
        plan === "basic" && (up as number) < UPGRADE_SHARE
          ? {
              afterInvoice: Math.floor((upAt as number) * paidInvoices),
              periodShare: UPGRADE_SHARE_MIN + (upShare as number) * UPGRADE_SHARE_SPAN,
            }
          : null,
      later: {
        kind: laters[index] as LaterKind,
        invoice: Math.floor((which as number) * paidInvoices),
        atEnd: (atEnd as number) < 0.5,
        whole: (whole as number) < 0.5,
        disputeOutcome: outcomeOf(outcome as number),
      },
      ending,
      stepDelayMs: Math.floor((delay as number) * STEP_DELAY_MAX_MS),
    };
  });
}
