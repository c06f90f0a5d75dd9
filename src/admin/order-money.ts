/**
 * What a money action would do to an order, read from its admin detail (admin_order_detail) before
 * anything is sent: the payments recorded for it (from the timeline's payment events), what is left to
 * refund on each, and the credits a refund, a review decision or a grant repair would move, computed the
 * way the settlement SQL does (`payguard._sync_order` and `payguard._claw_target` in
 * supabase/migrations/20261204000000_payguard_exactly_once.sql): the order's credits end at
 * `credits - floor(credits × counted / paid)` while its grant stands, 0 once rejected, and the ledger is
 * brought there. Pure: the detail in, numbers out.
 */
import type { Row } from "./store.ts";

/** Timeline events that record a provider payment of the order (apply_payment), and the role each gives. */
const PAYMENT_EVENTS: Record<string, string> = {
  paid: "primary",
  late_payment: "primary",
  second_payment: "second",
  payment_mismatch: "mismatch",
  payment_disputed: "disputed",
};

export interface OrderPayment {
  ref: string;
  provider: string;
  amountMinor: number;
  discountMinor: number;
  currency: string;
  paidAt: string | null;
  /** The role the payment was recorded with: primary, second, mismatch or disputed. */
  role: string;
  /** It is the order's credited payment (`payment_ref`). */
  primary: boolean;
  /** Succeeded refunds of this payment (a refund naming no payment counts against the primary). */
  refundedMinor: number;
  remainingMinor: number;
}

export interface CreditsMove {
  /** Signed change of the user's balance. */
  deltaCredits: number;
  /** The order's grant: the credits a full payment holds. */
  orderCredits: number;
  balanceBefore: number;
  balanceAfter: number;
}

const num = (value: unknown) => (typeof value === "number" ? value : Number(value ?? 0)) || 0;
const str = (value: unknown) => (typeof value === "string" ? value : "");
const rows = (detail: Row, key: string) => (Array.isArray(detail[key]) ? (detail[key] as Row[]) : []);

/** Mirrors payguard._claw_target: none without refunds, proportional and floored, all once fully refunded. */
export function clawTarget(credits: number, paidMinor: number, refundedMinor: number): number {
  if (refundedMinor <= 0) return 0;
  if (refundedMinor >= paidMinor) return credits;
  return Math.min(credits, Math.floor((credits * refundedMinor) / paidMinor));
}

function refundedOf(detail: Row, ref: string, currency: string, primary: boolean): number {
  return rows(detail, "refunds")
    .filter((r) => str(r.status) === "succeeded" && str(r.currency) === currency)
    .filter((r) => str(r.payment_ref) === ref || (primary && !r.payment_ref))
    .reduce((sum, r) => sum + num(r.amount_minor), 0);
}

type PaymentFacts = Omit<OrderPayment, "primary" | "refundedMinor" | "remainingMinor">;

function withRefunds(detail: Row, facts: PaymentFacts): OrderPayment {
  const primary = facts.ref === str(detail.payment_ref);
  const refundedMinor = refundedOf(detail, facts.ref, facts.currency, primary);
  // A payment recorded as credited that an earlier matching one replaced is a second payment now.
  const role = primary ? "primary" : facts.role === "primary" ? "second" : facts.role;
  return {
    ...facts,
    role,
    primary,
    refundedMinor,
    remainingMinor: Math.max(facts.amountMinor - refundedMinor, 0),
  };
}

/** From the timeline's payment events (each apply_payment writes one), for a detail without `payments`. */
function factsFromTimeline(detail: Row): PaymentFacts[] {
  return rows(detail, "timeline").flatMap((event) => {
    const role = PAYMENT_EVENTS[str(event.kind)];
    const fact = (event.detail ?? {}) as Row;
    if (!role || !str(fact.payment_ref)) return [];
    return [{ ...factsOf(fact, detail), role }];
  });
}

const factsOf = (payment: Row, detail: Row): PaymentFacts => ({
  ref: str(payment.payment_ref),
  provider: str(payment.provider) || str(detail.provider),
  amountMinor: num(payment.amount_minor),
  discountMinor: num(payment.discount_minor),
  currency: str(payment.currency).toUpperCase() || str(detail.currency),
  paidAt: str(payment.paid_at) || null,
  role: str(payment.role),
});

/**
 * Every payment recorded for the order, oldest first; the credited one is marked primary. The detail's
 * `payments` (order_payments rows, admin_order_detail since migration 20261206000100) are the record; a
 * database before it has the same facts in the timeline. An order whose payment predates both is its
 * credited payment as the order row states it.
 */
export function orderPayments(detail: Row): OrderPayment[] {
  const facts = Array.isArray(detail.payments)
    ? rows(detail, "payments").map((payment) => factsOf(payment, detail))
    : factsFromTimeline(detail);
  const seen = new Map<string, OrderPayment>();
  for (const fact of facts)
    if (fact.ref && !seen.has(fact.ref)) seen.set(fact.ref, withRefunds(detail, fact));
  const credited = str(detail.payment_ref);
  if (credited && !seen.has(credited)) {
    const paid = {
      payment_ref: credited,
      amount_minor: num(detail.amount_minor) - num(detail.discount_minor),
    };
    seen.set(credited, withRefunds(detail, { ...factsOf({ ...detail, ...paid }, detail), role: "primary" }));
  }
  return [...seen.values()];
}

export const primaryPayment = (detail: Row) => orderPayments(detail).find((p) => p.primary) ?? null;

/** Payments that are not the credited one: a second, mismatched or disputed payment (refunded or not). */
export const extraPayments = (detail: Row) => orderPayments(detail).filter((p) => !p.primary);

/** The payment `resolve_review fulfil` would credit: the earliest of the order's amount and currency. */
export function fulfilPayment(detail: Row): OrderPayment | null {
  const amount = num(detail.amount_minor);
  const currency = str(detail.currency);
  const matching = orderPayments(detail)
    .filter((p) => p.amountMinor + p.discountMinor === amount && p.currency === currency)
    .sort((a, b) => (a.paidAt ?? "").localeCompare(b.paidAt ?? "") || a.ref.localeCompare(b.ref));
  return matching[0] ?? null;
}

/** Open or lost chargebacks of a payment under the claw_back policy (their latest timeline state). */
function disputedOf(detail: Row, ref: string): number {
  const latest = new Map<string, Row>();
  for (const event of rows(detail, "timeline")) {
    const fact = (event.detail ?? {}) as Row;
    if (str(event.kind).startsWith("dispute_") && fact.dispute_ref) latest.set(str(fact.dispute_ref), fact);
  }
  return [...latest.values()]
    .filter((d) => str(d.payment_ref) === ref && str(d.state) !== "won")
    .filter((d) => (str(d.policy) || "claw_back") === "claw_back")
    .reduce((sum, d) => sum + num(d.amount_minor), 0);
}

const ledgerSum = (detail: Row) => rows(detail, "ledger").reduce((sum, l) => sum + num(l.credits), 0);

function move(detail: Row, target: number): CreditsMove {
  const deltaCredits = target - ledgerSum(detail);
  const balance = (detail.balance ?? {}) as Row;
  const balanceBefore = num(balance.stored);
  return {
    deltaCredits,
    orderCredits: num(detail.credits),
    balanceBefore,
    balanceAfter: balanceBefore + deltaCredits,
  };
}

/** Where _sync_order takes the order's credits with `keep` credited and `extraMinor` more refunded of it. */
function creditsTarget(detail: Row, keep: OrderPayment | null, extraMinor: number): number {
  if (!keep) return 0;
  const credits = num(detail.credits);
  const counted = keep.refundedMinor + extraMinor + disputedOf(detail, keep.ref);
  return credits - clawTarget(credits, keep.amountMinor, counted);
}

const grantStands = (detail: Row) =>
  Boolean(detail.payment_ref) && detail.review_resolution !== "reject" && detail.review_kind !== "sold_out";

/** Refunding `amountMinor` of `payment`: only a refund of the credited payment takes credits back. */
export function refundMove(detail: Row, payment: OrderPayment, amountMinor: number): CreditsMove {
  const primary = primaryPayment(detail);
  const standing = grantStands(detail) ? primary : null;
  return move(detail, creditsTarget(detail, standing, payment.primary ? amountMinor : 0));
}

/** Deciding a review: `fulfil` credits fulfilPayment (null: nothing to fulfil with), `reject` leaves none. */
export function resolutionMove(detail: Row, resolution: "fulfil" | "reject"): CreditsMove | null {
  if (resolution === "reject") return move(detail, 0);
  const keep = fulfilPayment(detail);
  return keep ? move(detail, creditsTarget(detail, keep, 0)) : null;
}

const GRANT_REPAIRABLE = new Set(["fulfilled", "partially_refunded", "refunded"]);

/** repair_missing_grant: a settled, not rejected order whose purchase is missing gets it (then synced). */
export function grantRepairMove(detail: Row): CreditsMove {
  const hasPurchase = rows(detail, "ledger").some((l) => str(l.kind) === "purchase");
  const eligible =
    !hasPurchase && GRANT_REPAIRABLE.has(str(detail.status)) && grantStands(detail) && detail.payment_ref;
  return eligible
    ? move(detail, creditsTarget(detail, primaryPayment(detail), 0))
    : move(detail, ledgerSum(detail));
}

/** repair_balance: the stored balance becomes the sum of the user's ledger. */
export function balanceRepairMove(detail: Row): CreditsMove {
  const balance = (detail.balance ?? {}) as Row;
  const before = num(balance.stored);
  const after = num(balance.ledger_sum);
  return {
    deltaCredits: after - before,
    orderCredits: num(detail.credits),
    balanceBefore: before,
    balanceAfter: after,
  };
}
