/**
 * How a settlement scenario's facts arrive (test/sql/settlement-order.test.ts): every provider fact once or
 * more, in any order, spread over several connections, some through `settle_event` under one of two event
 * ids; each decision after the fact it waits for. Also what a case covers (labels, counted per family) and
 * how it reads in a counterexample. Pure data and fast-check arbitraries; no database.
 */
import fc from "fast-check";
import {
  chance,
  FACTS_MAX,
  type Fact,
  type FactBody,
  type Family,
  ORDER_AMOUNT_MINOR,
  type RefundSpec,
  type Scenario,
} from "./settlement-facts.ts";

/** Connections one case's facts are delivered through on real Postgres. */
export const LANES = 3;
export const COPIES_MAX = 3;
const DECISIONS_MAX = 3;
const DELIVERY_GENES = FACTS_MAX * COPIES_MAX;

export interface Delivery {
  fact: Fact;
  /** Which copy of the fact this is (0-based). */
  copy: number;
  lane: number;
  /** Through `settle_event` (as the worker delivers it) instead of the settlement function itself. */
  viaEvent: boolean;
  /** Which of two event ids this copy carries (the same id again is a redelivery the inbox answers). */
  eventCopy: number;
  nowMin: number;
}

export interface Genes {
  copies: number[];
  position: number[];
  lane: number[];
  viaEvent: boolean[];
  eventCopy: number[];
  decisionOffset: number[];
  decisionCopies: number[];
}

/** Once (5 in 11), twice (4 in 11) or three times; shrinks to once. */
const copiesArb = fc.nat(10).map((n) => (n < 5 ? 1 : n < 9 ? 2 : COPIES_MAX));
const fixed = <T>(arb: fc.Arbitrary<T>, length: number) =>
  fc.array(arb, { minLength: length, maxLength: length });

/** How the facts arrive; independent of the scenario so that both shrink on their own. */
export const genesArb: fc.Arbitrary<Genes> = fc.record({
  copies: fixed(copiesArb, FACTS_MAX),
  position: fixed(fc.nat(999), DELIVERY_GENES),
  lane: fixed(fc.nat(LANES - 1), DELIVERY_GENES),
  viaEvent: fixed(chance(3), DELIVERY_GENES),
  eventCopy: fixed(fc.nat(1), DELIVERY_GENES),
  decisionOffset: fixed(fc.nat(999), DECISIONS_MAX * 2),
  decisionCopies: fixed(fc.integer({ min: 1, max: 2 }), DECISIONS_MAX),
});

/** Provider facts that `settle_event` can carry (a decision is the operator's or the worker's own call). */
const EVENT_KINDS = new Set<FactBody["kind"]>([
  "pay",
  "refund",
  "refund_failed",
  "expired",
  "awaiting",
  "async_failed",
  "dispute",
]);

/**
 * Every provider fact `copies` times in the genes' order; each decision once or twice, at a place after
 * the first delivery of the fact it waits for. Times follow the arrival order (a decision's own time
 * moves the clock on).
 */
export function schedule(facts: Fact[], genes: Genes, baseMin: number): Delivery[] {
  const provider = facts.filter((f) => !f.after);
  const keyed = provider.flatMap((fact, i) =>
    Array.from({ length: genes.copies[i] ?? 1 }, (_, copy) => {
      const gene = i * COPIES_MAX + copy;
      return { fact, copy, gene, sortKey: genes.position[gene] ?? 0 };
    }),
  );
  keyed.sort((a, b) => a.sortKey - b.sortKey || a.gene - b.gene);
  const list = keyed.map(({ fact, copy, gene }) => ({
    fact,
    copy,
    lane: genes.lane[gene] ?? 0,
    // A query answer saying REFUND reaches settlement only as a `paid` fact of an event.
    viaEvent:
      fact.body.kind === "pay_refunded_at_provider" ||
      (EVENT_KINDS.has(fact.body.kind) && !!genes.viaEvent[gene]),
    eventCopy: genes.eventCopy[gene] ?? 0,
  }));
  facts
    .filter((f) => f.after)
    .forEach((fact, d) => {
      // The operator may press "reject" twice; the worker sweeps and a customer checks out once.
      const copies = fact.body.kind === "reject" ? (genes.decisionCopies[d] ?? 1) : 1;
      for (let copy = 0; copy < copies; copy++) {
        const first = list.findIndex((x) => x.fact.key === fact.after);
        const offset = genes.decisionOffset[d * 2 + copy] ?? 0;
        const place = first + 1 + Math.floor((offset / 1000) * (list.length - first));
        list.splice(place, 0, { fact, copy, lane: (d + copy) % LANES, viaEvent: false, eventCopy: 0 });
      }
    });
  let clock = baseMin * 60;
  return list.map((d) => {
    clock = Math.max(clock + 1, (d.fact.atMin ?? 0) * 60);
    return { ...d, nowMin: clock / 60 };
  });
}

/** When the first fact arrives (minutes after the order): an async one well before the order's expiry. */
export const baseMinute = (s: Scenario) => (s.async ? 5 : 10);

// ---- what a case covers, and how it reads in a counterexample --------------------------------------

const firstIndex = (list: Delivery[], key: string) => list.findIndex((d) => d.fact.key === key);
const before = (list: Delivery[], a: string, b: string) => {
  const i = firstIndex(list, a);
  const j = firstIndex(list, b);
  return i >= 0 && j >= 0 && i < j;
};

/** The named situations a case contains, counted per family to show the generator reaches them. */
export function labels(s: Scenario, list: Delivery[]): string[] {
  const out: string[] = [];
  const add = (label: string, when: unknown) => {
    if (when) out.push(label);
  };
  const ofPrimary = s.refunds.filter((r) => r.of === "primary" || r.of === "unnamed");
  const succeeded = (rs: RefundSpec[]) => rs.filter((r) => !r.fails).reduce((a, r) => a + r.amountMinor, 0);
  const failing = ofPrimary.filter((r) => r.fails);
  add(
    "refund → fail → re-refund",
    failing.some((f) =>
      ofPrimary.some((r) => !r.fails && r.amountMinor + f.amountMinor > ORDER_AMOUNT_MINOR),
    ),
  );
  add("refunds summing over the payment", succeeded(ofPrimary) > ORDER_AMOUNT_MINOR);
  add("a failing refund among several", ofPrimary.length >= 2 && failing.length > 0);
  add(
    "paid twice, both refunded",
    s.second &&
      succeeded(ofPrimary) >= ORDER_AMOUNT_MINOR &&
      succeeded(s.refunds.filter((r) => r.of === "second")) >= ORDER_AMOUNT_MINOR,
  );
  add("paid twice, second not refunded", s.second && !s.refunds.some((r) => r.of === "second" && !r.fails));
  add(
    "refund of a payment never seen",
    s.refunds.some((r) => r.of === "lost"),
  );
  add(
    "refund naming the order only",
    s.refunds.some((r) => r.of === "unnamed"),
  );
  add(
    "refund before its payment",
    s.refunds.some((r, i) => r.of === "primary" && before(list, `r${i}`, "p1")),
  );
  add(
    "failure before its refund",
    s.refunds.some((_, i) => before(list, `f${i}`, `r${i}`)),
  );
  add("refunded at the provider (REFUND)", s.refundedAtProvider);
  add("no_payment_required", s.primary === "free");
  add("expiry, then the payment", before(list, "expired", "p1"));
  add("reject, then pay", s.reject && before(list, "reject", "p1"));
  add("pay, then reject", s.reject && before(list, "p1", "reject"));
  add("reject, never paid", s.reject && !s.primary);
  add("review left open", s.mismatch && !s.reject);
  add("dispute won", s.dispute?.closed === "won");
  add("dispute lost", s.dispute?.closed === "lost");
  add("dispute still open", s.dispute && !s.dispute.closed);
  add("dispute, notify policy", s.dispute?.policy === "notify");
  add("dispute before its payment", before(list, "dispute_open", "p1") || before(list, "dispute_lost", "p1"));
  add("async: paid after expiry", s.async === "paid");
  add("async: failed", s.async === "failed");
  add("async: still in flight", s.async === "pending");
  add("duplicates", new Set(list.map((d) => d.fact.key)).size < list.length);
  add(
    "through settle_event",
    list.some((d) => d.viaEvent),
  );
  add(
    "redelivered event",
    list.some(
      (d, i) =>
        d.viaEvent &&
        list.some((e, j) => j > i && e.viaEvent && e.fact === d.fact && e.eventCopy === d.eventCopy),
    ),
  );
  add("several connections", new Set(list.map((d) => d.lane)).size > 1);
  return out;
}

/** The labels each family must reach (at least one case in a hundred). */
export const FAMILY_LABELS: Record<Family, string[]> = {
  refunds: [
    "refund → fail → re-refund",
    "refunds summing over the payment",
    "a failing refund among several",
    "paid twice, both refunded",
    "paid twice, second not refunded",
    "refund of a payment never seen",
    "refund naming the order only",
    "refund before its payment",
    "failure before its refund",
    "refunded at the provider (REFUND)",
    "no_payment_required",
    "expiry, then the payment",
    "duplicates",
    "through settle_event",
    "redelivered event",
  ],
  review: ["reject, then pay", "pay, then reject", "reject, never paid", "review left open"],
  disputes: [
    "dispute won",
    "dispute lost",
    "dispute still open",
    "dispute, notify policy",
    "dispute before its payment",
  ],
  async: ["async: paid after expiry", "async: failed", "async: still in flight"],
};

function factName(f: Fact): string {
  const b = f.body;
  switch (b.kind) {
    case "pay":
      return `${b.ref} pays ${b.amountMinor}${b.discountMinor ? ` + ${b.discountMinor} discount` : ""}`;
    case "refund":
      return `${b.ref} refunds ${b.amountMinor} of ${b.paymentRef ?? "the order"}`;
    case "refund_failed":
      return `${b.ref} fails`;
    case "dispute":
      return `dispute ${b.state} (${b.policy}${b.orderKnown ? ", names the order" : ""})`;
    case "pay_refunded_at_provider":
      return "p1 reported refunded at the provider";
    default:
      return f.after ? `${b.kind} (after ${f.after})` : b.kind;
  }
}

/** A counterexample in a few lines: the facts in the world's order, then the deliveries as they went. */
export function describeDeliveries(facts: Fact[], list: Delivery[]): string {
  const world = facts.map((f) => `${f.key}: ${factName(f)}`).join("; ");
  const arrivals = list
    .map(
      (d) =>
        `${d.fact.key}${d.copy ? `#${d.copy + 1}` : ""}@${d.lane}${d.viaEvent ? `(event ${d.eventCopy})` : ""}`,
    )
    .join(" ");
  return `facts: ${world}\n  delivered (fact@lane): ${arrivals}`;
}
