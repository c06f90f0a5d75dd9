/**
 * The settlement rules of docs/schema.md (issue 22's contract) as a small pure model: from the SET of facts
 * of a Scenario, the final state of its order. `verify` names the rule behind every field it checks, so a
 * counterexample says which rule broke. Where the contract is silent the model makes one choice and says
 * so (a dispute leaves the status as it was; its incident stays open unless the dispute is won); the key of
 * the incident that names a payment to refund after a rejection is left free.
 *
 * Arrival may legitimately show in two places only: `late_payment` (the order was expired before the
 * payment arrived) and whether a payment came after the operator's rejection (they rejected without it).
 */
import { ORDER_AMOUNT_MINOR, ORDER_CREDITS, type RefundTarget, type Scenario } from "./settlement-facts.ts";

/** One incident outbox row (from an answer's `incidents` or the table), the order id replaced by `order`. */
export interface OutboxRow {
  id: number;
  action: "raise" | "resolve";
  key: string;
  text: string;
}

/** The state of one order after its facts, read back from the database (refs without the order prefix). */
export interface Observed {
  status: string;
  /** Sum of the user's ledger (the user has this order only). */
  credits: number;
  /** The order's ledger without disputes (entries and reversals): what the purchase left after refunds and reviews. */
  orderCredits: number;
  balance: number;
  /** Shown in counterexamples; the contract does not say what it holds over the paid amount. */
  refundedMinor: number;
  refunds: Array<[string, string, number]>;
  payments: Array<[string, string]>;
  held: number;
  /** Orders holding a unit of the order's package (async scenarios: a package of one unit). */
  unitsHeld: number;
  /** Open incident keys: the last outbox action of the key is `raise`. */
  open: string[];
  /** Every outbox row about the order, in order. */
  outbox: OutboxRow[];
  /** Outbox rows that no delivery's answer handed over (`incidents`). */
  unanswered: string[];
  /** p1 was applied to the order after the operator had rejected it (reject, then pay). */
  paidAfterReject: boolean;
}

export interface Mismatch {
  rule: string;
  field: string;
  expected: unknown;
  actual: unknown;
}

const RULE = {
  balance: "credit_balances = sum(credit_ledger), in the same transaction",
  neverFulfilledEmpty: "never `fulfilled` with 0 credits",
  refundSet:
    "refunds count from the whole set (succeeded minus failed, per payment): floor(credits × refunded / paid), all at or over the paid amount",
  refundsRecorded:
    "every refund fact is recorded, whatever the order's state, failed when its failure is known",
  overRefund: "a set of refunds over the paid amount → needs_review, every refund recorded",
  paidTwice: "paid twice: in review while the second payment is not refunded",
  mismatch: "a payment of another amount → needs_review until the operator decides",
  reject:
    "reject then pay: failed, the payment recorded, never credited; pay then reject: the purchase credits taken back, later refunds change nothing",
  rejectNamesPayment:
    "reject then pay: an incident names the payment to refund (pay then reject: the operator saw it, none needed)",
  lateWins: "provider truth wins: a payment after expiry fulfils the order",
  free: "no_payment_required (amount 0, discount = price) fulfils the order",
  unpaid: "no payment of the order's amount: nothing credited; expiry only from pending",
  roles: "the earliest matching payment is primary, another matching one second, another amount mismatch",
  held: "a refund of a payment never seen stays held; every other fact applies",
  dispute:
    "dispute claw_back: credits taken back while open or lost, given back once if won; notify: only the incident",
  disputeStatus:
    "a dispute leaves the order's status as it was: the purchase stands, the dispute is its own ledger entry",
  disputeIncident:
    "a dispute opens a critical dispute:<order> incident, resolved when it is won (won before it opened: none)",
  asyncKeeps:
    "a payment in flight at expiry keeps the order and its unit until its result: the late payment fulfils it",
  stock: "limited stock is never oversold",
  reviewIncident: "needs_review:<order> is open while the order is in review, resolved when it leaves review",
  refundAwaited:
    "refund_awaited:<order> is raised by a paid fact with refunded_at_provider while the order shows no refund, resolved when a refund applies",
  answersCarryIncidents:
    "every settlement answer carries the incident outbox rows its transaction wrote (`incidents`)",
  onlyContractIncidents:
    "settlement raises only the contract's incidents, each open exactly when its rule says (late_payment may depend on arrival)",
} as const;

interface Pin<T> {
  value: T;
  rule: string;
}

export interface Expected {
  status: Pin<string>;
  credits: Pin<number>;
  refunds: Pin<Array<[string, string, number]>>;
  payments: Pin<Array<[string, string]>>;
  held: Pin<number>;
  /** Keys that must be open. */
  open: Array<Pin<string>>;
  /** Keys that may be open or not, by arrival order. */
  mayBeOpen: string[];
  /**
   * Reject and a payment of the order: an incident naming the payment may be raised and stay open (its key is
   * the implementation's); when the payment came after the rejection one must be (unless refunded in full).
   */
  namesPayment: (Pin<string> & { requiredAfterReject: boolean }) | null;
  /** Orders holding the package's one unit: exactly this many, or at most this many (`atMost`). */
  unitsHeld: (Pin<number> & { atMost: boolean }) | null;
}

/** The incident families settlement raises by the contract; another may only name a payment to refund. */
const CONTRACT_INCIDENTS = [
  "needs_review",
  "late_payment",
  "created_from_metadata",
  "audit",
  "refund_awaited",
  "dispute",
  "app_hook_failed",
];

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const countsForPrimary = (of: RefundTarget) => of === "primary" || of === "unnamed";

/** floor(credits × refunded / paid), all credits at or over the paid amount. */
function clawedBack(refundedMinor: number, paidMinor: number): number {
  if (refundedMinor <= 0) return 0;
  if (refundedMinor >= paidMinor) return ORDER_CREDITS;
  return Math.floor((ORDER_CREDITS * refundedMinor) / paidMinor);
}

function statusOf(s: Scenario, refunded1: number, refunded2: number, paid: number): Pin<string> {
  if (s.async === "paid") return { value: "fulfilled", rule: RULE.asyncKeeps };
  if (s.async) return { value: s.async, rule: RULE.asyncKeeps };
  if (s.reject) return { value: "failed", rule: RULE.reject };
  if (!s.primary) {
    if (s.mismatch) return { value: "needs_review", rule: RULE.mismatch };
    return { value: s.expiry ? "expired" : "pending", rule: RULE.unpaid };
  }
  if (s.mismatch) return { value: "needs_review", rule: RULE.mismatch };
  if (refunded1 > paid) return { value: "needs_review", rule: RULE.overRefund };
  if (s.second && refunded2 < ORDER_AMOUNT_MINOR) return { value: "needs_review", rule: RULE.paidTwice };
  const rule = s.dispute
    ? RULE.disputeStatus
    : s.primary === "free"
      ? RULE.free
      : s.second
        ? RULE.paidTwice
        : s.refunds.length > 0 || !s.expiry
          ? RULE.refundSet
          : RULE.lateWins;
  if (refunded1 === paid && paid > 0) return { value: "refunded", rule };
  if (refunded1 > 0) return { value: "partially_refunded", rule };
  return { value: "fulfilled", rule };
}

export function expectedState(s: Scenario): Expected {
  const refunds = s.refunds.map((r, i) => ({ ...r, ref: `r${i}` }));
  if (s.dispute && refunds.length > 0) throw new Error("the model keeps disputes apart from refunds");
  const paid = s.primary === "free" ? 0 : ORDER_AMOUNT_MINOR;
  const succeeded = (pred: (of: RefundTarget) => boolean) =>
    sum(refunds.filter((r) => pred(r.of) && !r.fails).map((r) => r.amountMinor));
  const refunded1 = succeeded(countsForPrimary);
  const refunded2 = succeeded((of) => of === "second");
  const disputeTakes = s.dispute && s.dispute.policy === "claw_back" && s.dispute.closed !== "won";
  let credits: Pin<number>;
  if (!s.primary) credits = { value: 0, rule: s.reject ? RULE.reject : RULE.unpaid };
  else if (s.reject) credits = { value: 0, rule: RULE.reject };
  else if (s.dispute) credits = { value: disputeTakes ? 0 : ORDER_CREDITS, rule: RULE.dispute };
  else
    credits = {
      value: ORDER_CREDITS - clawedBack(refunded1, paid),
      rule: s.primary === "free" ? RULE.free : RULE.refundSet,
    };
  const status = statusOf(s, refunded1, refunded2, paid);

  const recorded = refunds
    .filter((r) => r.of !== "lost")
    .map((r): [string, string, number] => [r.ref, r.fails ? "failed" : "succeeded", r.amountMinor]);
  const payments: Array<[string, string]> = [];
  if (s.primary) payments.push(["p1", "primary"]);
  if (s.second) payments.push(["p2", "second"]);
  if (s.mismatch) payments.push(["pm", "mismatch"]);

  const open: Array<Pin<string>> = [];
  if (status.value === "needs_review") open.push({ value: "needs_review:order", rule: RULE.reviewIncident });
  const p1Refunded = refunds.some((r) => countsForPrimary(r.of));
  if (s.refundedAtProvider && !p1Refunded)
    open.push({ value: "refund_awaited:order", rule: RULE.refundAwaited });
  const disputeStands = s.dispute !== null && s.dispute.closed !== "won";
  if (disputeStands) open.push({ value: "dispute:order", rule: RULE.disputeIncident });
  const mayBeOpen = s.expiry && (s.primary || s.second) ? ["late_payment:order"] : [];
  return {
    status,
    credits,
    refunds: { value: recorded, rule: RULE.refundsRecorded },
    payments: { value: payments, rule: RULE.roles },
    held: { value: refunds.filter((r) => r.of === "lost").length, rule: RULE.held },
    open,
    mayBeOpen,
    namesPayment:
      s.reject && s.primary
        ? { value: "p1", rule: RULE.rejectNamesPayment, requiredAfterReject: refunded1 < paid }
        : null,
    // A failed async payment frees the unit: the other customer has it or not, by when they checked out.
    unitsHeld: s.async ? { value: 1, rule: RULE.stock, atMost: s.async === "failed" } : null,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function verify(s: Scenario, o: Observed): Mismatch[] {
  const e = expectedState(s);
  const out: Mismatch[] = [];
  const check = (field: string, pin: Pin<unknown> | null, actual: unknown) => {
    if (pin && !same(pin.value, actual)) out.push({ rule: pin.rule, field, expected: pin.value, actual });
  };
  check("status", e.status, o.status);
  check("credits", e.credits, o.credits);
  check("refunds", e.refunds, o.refunds);
  check("payments", e.payments, o.payments);
  check("held", e.held, o.held);
  if (e.unitsHeld?.atMost && o.unitsHeld > e.unitsHeld.value)
    out.push({
      rule: RULE.stock,
      field: "units held",
      expected: `<= ${e.unitsHeld.value}`,
      actual: o.unitsHeld,
    });
  else if (e.unitsHeld && !e.unitsHeld.atMost) check("units held", e.unitsHeld, o.unitsHeld);
  if (o.balance !== o.credits)
    out.push({ rule: RULE.balance, field: "balance", expected: o.credits, actual: o.balance });
  if (o.status === "fulfilled" && o.orderCredits <= 0)
    out.push({
      rule: RULE.neverFulfilledEmpty,
      field: "order credits",
      expected: "> 0",
      actual: o.orderCredits,
    });
  for (const key of e.open)
    if (!o.open.includes(key.value))
      out.push({ rule: key.rule, field: "open incidents", expected: `${key.value} open`, actual: o.open });
  const namesRef = (ref: string) => (row: OutboxRow) =>
    row.action === "raise" && new RegExp(`\\b${ref}\\b`).test(row.text);
  const ofContract = (key: string) => CONTRACT_INCIDENTS.some((family) => key.startsWith(`${family}:`));
  const naming = new Set(
    e.namesPayment
      ? o.outbox
          .filter(namesRef(e.namesPayment.value))
          .flatMap((row) => (ofContract(row.key) ? [] : [row.key]))
      : [],
  );
  if (e.namesPayment?.requiredAfterReject && o.paidAfterReject && naming.size === 0)
    out.push({
      rule: e.namesPayment.rule,
      field: "raised incidents",
      expected: `one naming ${e.namesPayment.value}`,
      actual: o.outbox,
    });
  if (o.unanswered.length > 0)
    out.push({ rule: RULE.answersCarryIncidents, field: "outbox rows", expected: [], actual: o.unanswered });
  // Open beyond the rules: not required, not arrival-dependent (late_payment), not naming a rejected payment.
  const required = e.open.map((k) => k.value);
  const extra = o.open.filter((k) => !required.includes(k) && !e.mayBeOpen.includes(k) && !naming.has(k));
  if (extra.length > 0)
    out.push({
      rule: RULE.onlyContractIncidents,
      field: "open incidents",
      expected: required,
      actual: o.open,
    });
  return out;
}
