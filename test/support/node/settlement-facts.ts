/**
 * The world of one order for the settlement property (test/sql/settlement-order.test.ts): what happened to
 * it (a Scenario: payments, refunds and their failures, disputes, an async payment in flight, expiry, an
 * operator's rejection) and the facts that reach payguard about it, in the world's order. How they arrive
 * is settlement-schedule.ts. Pure data and fast-check arbitraries; no database.
 *
 * Facts are of two sorts. Provider facts commute: the final state must depend only on their set.
 * Decisions are made at a fixed point of the world and wait for it: the operator rejects once the
 * mismatched payment has put the order in review (`resolve_review` is only valid in review); the expiry
 * sweep runs after the async payment was reported in flight (the worker would have learnt it from the
 * provider before closing the session); another customer's checkout for the last unit runs after the sweep.
 */
import fc from "fast-check";

export const ORDER_AMOUNT_MINOR = 1999;
export const ORDER_CREDITS = 100;
export const MISMATCH_AMOUNT_MINOR = 999;
export const CURRENCY = "USD";
export const T0_MS = Date.parse("2026-11-22T12:00:00.000Z");
/** An async method may settle for days; the order keeps its unit until then. */
export const AWAIT_UNTIL_MIN = 3 * 24 * 60;
/** The expiry sweep runs just after the order's own 30-minute expiry; another customer checks out after it. */
export const SWEEP_AT_MIN = 31;
export const COMPETITOR_AT_MIN = 32;
/** The most facts a scenario has (each is delivered up to COPIES_MAX times; see settlement-schedule.ts). */
export const FACTS_MAX = 16;
const REFUNDS_MAX = 4;

export const at = (minutes: number) => new Date(T0_MS + minutes * 60_000).toISOString();

/** Which payment a refund names: the primary one, none (order id only), the second one, one never seen. */
export type RefundTarget = "primary" | "unnamed" | "second" | "lost";
export interface RefundSpec {
  amountMinor: number;
  of: RefundTarget;
  fails: boolean;
}
export interface DisputeSpec {
  opened: boolean;
  closed: "won" | "lost" | null;
  policy: "claw_back" | "notify";
  /** The dispute fact names our order id (else only the payment). */
  orderKnown: boolean;
}
export type AsyncOutcome = "paid" | "failed" | "pending";

export interface Scenario {
  family: string;
  /** p1: the payment of the order's amount; `free`: a 100 % promotion code (amount 0, discount = price). */
  primary: "paid" | "free" | null;
  /** p2: a second payment of the full amount, paid after p1. */
  second: boolean;
  /** pm: a payment of another amount. */
  mismatch: boolean;
  /** The operator rejects the review (needs `mismatch`). */
  reject: boolean;
  /** The provider reports the order expired. */
  expiry: boolean;
  refunds: RefundSpec[];
  /** A query answer for p1 saying the provider has refunded it (WeChat trade_state REFUND). */
  refundedAtProvider: boolean;
  dispute: DisputeSpec | null;
  /** Checkout completed with an async method; the order is of a package with one unit left. */
  async: AsyncOutcome | null;
}

export type FactBody =
  | { kind: "pay"; ref: "p1" | "p2" | "pm"; amountMinor: number; discountMinor: number; paidAtMin: number }
  | { kind: "pay_refunded_at_provider"; ref: "p1" }
  | { kind: "refund"; ref: string; amountMinor: number; paymentRef: string | null }
  | { kind: "refund_failed"; ref: string }
  | { kind: "expired" }
  | { kind: "awaiting" }
  | { kind: "async_failed" }
  | { kind: "dispute"; state: "open" | "won" | "lost"; policy: DisputeSpec["policy"]; orderKnown: boolean }
  | { kind: "reject" }
  | { kind: "sweep" }
  | { kind: "competitor" };

export interface Fact {
  /** Unique in the case: the fact's name in counterexamples. */
  key: string;
  body: FactBody;
  /** A decision: delivered only after the first delivery of this fact has returned. */
  after?: string;
  /** A decision's fixed time (minutes after T0); provider facts take their arrival time. */
  atMin?: number;
}

/** The facts in the order they happened in the world. Refs are suffixes; the order id prefixes them. */
export function worldFacts(s: Scenario): Fact[] {
  const facts: Fact[] = [];
  const add = (key: string, body: FactBody, extra: Partial<Fact> = {}) => facts.push({ key, body, ...extra });
  if (s.async) add("await", { kind: "awaiting" });
  if (s.primary) {
    const free = s.primary === "free";
    add("p1", {
      kind: "pay",
      ref: "p1",
      amountMinor: free ? 0 : ORDER_AMOUNT_MINOR,
      discountMinor: free ? ORDER_AMOUNT_MINOR : 0,
      paidAtMin: s.async ? 40 : 1,
    });
  }
  if (s.second)
    add("p2", { kind: "pay", ref: "p2", amountMinor: ORDER_AMOUNT_MINOR, discountMinor: 0, paidAtMin: 2 });
  if (s.mismatch)
    add("pm", { kind: "pay", ref: "pm", amountMinor: MISMATCH_AMOUNT_MINOR, discountMinor: 0, paidAtMin: 3 });
  if (s.reject) add("reject", { kind: "reject" }, { after: "pm" });
  if (s.expiry) add("expired", { kind: "expired" });
  if (s.async) {
    add("sweep", { kind: "sweep" }, { after: "await", atMin: SWEEP_AT_MIN });
    add("competitor", { kind: "competitor" }, { after: "sweep", atMin: COMPETITOR_AT_MIN });
    if (s.async === "failed") add("async_failed", { kind: "async_failed" });
  }
  const paymentOf: Record<RefundTarget, string | null> = {
    primary: "p1",
    unnamed: null,
    second: "p2",
    lost: "p_lost",
  };
  s.refunds.forEach((r, i) => {
    add(`r${i}`, { kind: "refund", ref: `r${i}`, amountMinor: r.amountMinor, paymentRef: paymentOf[r.of] });
  });
  s.refunds.forEach((r, i) => {
    if (r.fails) add(`f${i}`, { kind: "refund_failed", ref: `r${i}` });
  });
  if (s.refundedAtProvider) add("p1_refunded", { kind: "pay_refunded_at_provider", ref: "p1" });
  const d = s.dispute;
  if (d?.opened)
    add("dispute_open", { kind: "dispute", state: "open", policy: d.policy, orderKnown: d.orderKnown });
  if (d?.closed)
    add(`dispute_${d.closed}`, {
      kind: "dispute",
      state: d.closed,
      policy: d.policy,
      orderKnown: d.orderKnown,
    });
  if (facts.length > FACTS_MAX) throw new Error(`scenario has ${facts.length} facts, more than ${FACTS_MAX}`);
  return facts;
}

// ---- arbitraries -------------------------------------------------------------------------------------

/** true with probability `tenths` / 10; shrinks to false. */
export const chance = (tenths: number) => fc.nat(9).map((n) => n >= 10 - tenths);

/** Shares that make the sets (70 % + 40 %, full twice) likely, and any amount. */
const refundAmount = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(ORDER_AMOUNT_MINOR, 1399, 800, 500) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: ORDER_AMOUNT_MINOR }) },
);
const refundOf = (targets: RefundTarget[]) =>
  fc.record({
    amountMinor: refundAmount,
    of: fc.constantFrom(...targets),
    fails: chance(3),
  });

const base: Scenario = {
  family: "",
  primary: "paid",
  second: false,
  mismatch: false,
  reject: false,
  expiry: false,
  refunds: [],
  refundedAtProvider: false,
  dispute: null,
  async: null,
};

/** The fact sets by name, each still mixed with random extras. */
const refundTemplates: Array<fc.Arbitrary<Partial<Scenario>>> = [
  // refund → fail → re-refund
  fc.constant({
    refunds: [
      { amountMinor: ORDER_AMOUNT_MINOR, of: "primary" as const, fails: true },
      { amountMinor: ORDER_AMOUNT_MINOR, of: "primary" as const, fails: false },
    ],
  }),
  // 70 % + 40 %, the 70 % failing
  fc.constant({
    refunds: [
      { amountMinor: 1399, of: "primary" as const, fails: true },
      { amountMinor: 800, of: "primary" as const, fails: false },
    ],
  }),
  // two refunds over the amount
  fc.constant({
    refunds: [
      { amountMinor: 1399, of: "primary" as const, fails: false },
      { amountMinor: 800, of: "primary" as const, fails: false },
    ],
  }),
  // paid twice, both refunded
  fc.constant({
    second: true,
    refunds: [
      { amountMinor: ORDER_AMOUNT_MINOR, of: "primary" as const, fails: false },
      { amountMinor: ORDER_AMOUNT_MINOR, of: "second" as const, fails: false },
    ],
  }),
];

/** Payments and refunds: partial, full, over the amount, failing, of a second payment, held forever. */
const refundsFamily: fc.Arbitrary<Scenario> = fc
  .record({
    template: fc.oneof(
      { withCrossShrink: true },
      { weight: 6, arbitrary: fc.constant(null) },
      ...refundTemplates.map((arbitrary) => ({ weight: 1, arbitrary })),
    ),
    free: chance(1),
    second: chance(3),
    secondRefund: fc.option(fc.record({ fails: chance(3) }), { nil: null }),
    refunds: fc.array(refundOf(["primary", "primary", "primary", "unnamed", "lost"]), { maxLength: 3 }),
    refundedAtProvider: chance(2),
    expiry: chance(2),
  })
  .map(({ template, free, second, secondRefund, refunds, refundedAtProvider, expiry }): Scenario => {
    const s: Scenario = {
      ...base,
      family: "refunds",
      second,
      refunds,
      refundedAtProvider,
      expiry,
      ...template,
    };
    if (!template && free)
      return { ...s, primary: "free", second: false, refunds: [], refundedAtProvider: false };
    if (s.second && !s.refunds.some((r) => r.of === "second") && secondRefund)
      s.refunds = [
        ...s.refunds,
        { amountMinor: ORDER_AMOUNT_MINOR, of: "second", fails: secondRefund.fails },
      ];
    // A refund that names no payment is only unambiguous when the order has one payment.
    if (s.second) s.refunds = s.refunds.map((r) => (r.of === "unnamed" ? { ...r, of: "primary" } : r));
    s.refunds = s.refunds.slice(0, REFUNDS_MAX);
    // REFUND at the provider is what the refunds of p1 say; kept to sets without failures or p2.
    if (s.second || s.refunds.some((r) => r.fails || r.of === "lost")) s.refundedAtProvider = false;
    return s;
  });

/** A mismatched payment puts the order in review; the operator may reject it before or after p1 arrives. */
const reviewFamily: fc.Arbitrary<Scenario> = fc
  .record({
    primary: fc.oneof(
      { weight: 4, arbitrary: fc.constant("paid" as const) },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    second: chance(3),
    reject: chance(7),
    expiry: chance(2),
    refunds: fc.array(refundOf(["primary"]), { maxLength: 2 }),
  })
  .map(({ primary, second, reject, expiry, refunds }) => ({
    ...base,
    family: "review",
    primary,
    second: second && primary !== null,
    mismatch: true,
    reject,
    expiry,
    refunds: primary ? refunds : [],
  }));

/** A chargeback of p1, opened and/or closed won or lost, under either policy. */
const disputeFamily: fc.Arbitrary<Scenario> = fc
  .record({
    opened: chance(8),
    closed: fc.oneof(fc.constant(null), fc.constant("won" as const), fc.constant("lost" as const)),
    policy: fc.oneof(
      { weight: 4, arbitrary: fc.constant("claw_back" as const) },
      { weight: 1, arbitrary: fc.constant("notify" as const) },
    ),
    orderKnown: fc.boolean(),
    expiry: chance(2),
  })
  .map(({ opened, closed, policy, orderKnown, expiry }) => ({
    ...base,
    family: "disputes",
    expiry,
    dispute: { opened: opened || closed === null, closed, policy, orderKnown },
  }));

/** A session completed unpaid (async method) before the order's expiry; its result comes late or never. */
const asyncFamily: fc.Arbitrary<Scenario> = fc
  .oneof(
    { weight: 3, arbitrary: fc.constant("paid" as const) },
    { weight: 1, arbitrary: fc.constant("failed" as const) },
    { weight: 1, arbitrary: fc.constant("pending" as const) },
  )
  .map((outcome) => ({
    ...base,
    family: "async",
    primary: outcome === "paid" ? "paid" : null,
    async: outcome,
  }));

export const FAMILIES = {
  refunds: refundsFamily,
  review: reviewFamily,
  disputes: disputeFamily,
  async: asyncFamily,
} as const;
export type Family = keyof typeof FAMILIES;
