/**
 * The settlement rule, as a property over the SQL functions: the final state of an order depends only on
 * the SET of facts (payments, a second payment, a mismatched payment, partial / full refunds, a failed
 * refund, expiry), never on their arrival order or on duplicates. One PGlite database for every case;
 * cases are isolated by order id and user id.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, openPgliteLedger, PACKAGE_SQL } from "../support/node/ledger-db.ts";

/** Fixed so a failure can be replayed; fast-check prints it with the counterexample. */
const PROPERTY_SEED = 20261122;
const PROPERTY_CASES = 2_000;
const ORDER_AMOUNT_MINOR = 1999;
const T0_MS = Date.parse("2026-11-22T12:00:00.000Z");
const at = (minutes: number) => new Date(T0_MS + minutes * 60_000).toISOString();

type Fact =
  | { kind: "pay"; ref: string; amount: number; minute: number }
  | { kind: "refund"; ref: string; amount: number; paymentRef: string | null }
  | { kind: "refund_failed"; ref: string }
  | { kind: "expire" };

interface FactSet {
  secondPayment: boolean;
  mismatchedPayment: boolean;
  refundAmounts: number[];
  refundsNamePayment: boolean;
  failedRefund: number | null;
  expiry: boolean;
}

/** The facts in the order they happened in the world. Refs are suffixes; the order id prefixes them. */
function naturalFacts(set: FactSet): Fact[] {
  const facts: Fact[] = [];
  if (set.expiry) facts.push({ kind: "expire" });
  facts.push({ kind: "pay", ref: "p1", amount: ORDER_AMOUNT_MINOR, minute: 1 });
  if (set.secondPayment) facts.push({ kind: "pay", ref: "p2", amount: ORDER_AMOUNT_MINOR, minute: 2 });
  if (set.mismatchedPayment) facts.push({ kind: "pay", ref: "pm", amount: 999, minute: 3 });
  for (const [i, amount] of set.refundAmounts.entries()) {
    facts.push({ kind: "refund", ref: `r${i}`, amount, paymentRef: set.refundsNamePayment ? "p1" : null });
  }
  if (set.failedRefund !== null && set.failedRefund < set.refundAmounts.length)
    facts.push({ kind: "refund_failed", ref: `r${set.failedRefund}` });
  return facts;
}

/** Up to three refunds that together never exceed the payment (a provider refunds at most what was paid). */
const refundAmounts = fc
  .array(fc.oneof(fc.integer({ min: 1, max: ORDER_AMOUNT_MINOR }), fc.constant(ORDER_AMOUNT_MINOR)), {
    maxLength: 3,
  })
  .map((amounts) => {
    const kept: number[] = [];
    let left = ORDER_AMOUNT_MINOR;
    for (const amount of amounts) {
      if (amount > left) continue;
      kept.push(amount);
      left -= amount;
    }
    return kept;
  });

const factSet = fc.record({
  secondPayment: fc.boolean(),
  mismatchedPayment: fc.boolean(),
  refundAmounts,
  refundsNamePayment: fc.boolean(),
  failedRefund: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
  expiry: fc.boolean(),
});

describe("settlement depends only on the set of facts (PGlite)", () => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await openPgliteLedger();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  async function deliver(orderId: string, fact: Fact, nowMinute: number) {
    const now = at(nowMinute);
    const ref = (suffix: string) => `${orderId}_${suffix}`;
    switch (fact.kind) {
      case "pay":
        return ledger.call("apply_payment", {
          p_provider: "stripe",
          p_order_id: orderId,
          p_payment_ref: ref(fact.ref),
          p_amount_minor: fact.amount,
          p_currency: "USD",
          p_paid_at: at(fact.minute),
          p_source: "webhook",
          p_now: now,
        });
      case "refund":
        return ledger.call("apply_refund", {
          p_provider: "stripe",
          p_order_id: fact.paymentRef ? null : orderId,
          p_refund_ref: ref(fact.ref),
          p_amount_minor: fact.amount,
          p_currency: "USD",
          p_source: "webhook",
          p_now: now,
          p_payment_ref: fact.paymentRef ? ref(fact.paymentRef) : null,
        });
      case "refund_failed":
        return ledger.call("fail_refund", {
          p_provider: "stripe",
          p_refund_ref: ref(fact.ref),
          p_source: "webhook",
          p_now: now,
        });
      case "expire":
        return ledger.call("expire_order", { p_order_id: orderId, p_reason: "expired", p_now: now });
    }
  }

  async function run(facts: Fact[]) {
    const user = randomUUID();
    const order = await ledger.call<{ id: string }>("create_order", {
      p_user_id: user,
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: at(0),
    });
    for (const [i, fact] of facts.entries()) await deliver(order.id, fact, 10 + i);
    return finalState(order.id, user);
  }

  async function finalState(orderId: string, user: string) {
    const strip = (ref: string) => ref.slice(orderId.length + 1);
    const { rows } = await ledger.db.query<{ state: Record<string, unknown> }>(
      `select jsonb_build_object(
         'status', o.status, 'refunded_minor', o.refunded_minor,
         'credits', (select coalesce(sum(credits), 0) from payguard.credit_ledger where user_id = $2),
         'balance', (select coalesce(sum(credits), 0) from payguard.credit_balances where user_id = $2),
         'refunds', (select coalesce(jsonb_agg(jsonb_build_array(refund_ref, status, amount_minor) order by refund_ref), '[]')
                       from payguard.payment_refunds where order_id = $1),
         'held', (select count(*) from payguard.held_facts where order_id = $1 or payment_ref like $1 || '%'),
         'incidents', (select coalesce(jsonb_agg(kind order by kind), '[]') from payguard.incidents
                        where status = 'open' and detail ->> 'order_id' = $1)) as state
         from payguard.payment_orders o where o.id = $1`,
      [orderId, user],
    );
    const state = rows[0]?.state ?? {};
    state.refunds = (state.refunds as [string, string, number][]).map(([ref, ...rest]) => [
      strip(ref),
      ...rest,
    ]);
    return state;
  }

  it(`ends in the same state for any arrival order and duplicates (${PROPERTY_CASES} cases, seed ${PROPERTY_SEED})`, async () => {
    const scenario = factSet.chain((set) => {
      const facts = naturalFacts(set);
      const deliveries = fc
        .array(fc.integer({ min: 1, max: 3 }), { minLength: facts.length, maxLength: facts.length })
        .map((copies) => facts.flatMap((fact, i) => Array.from({ length: copies[i] ?? 1 }, () => fact)));
      return fc.tuple(
        fc.constant(facts),
        deliveries.chain((list) => fc.shuffledSubarray(list, { minLength: list.length })),
      );
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ([facts, shuffled]) => {
        const expected = await run(facts);
        const actual = await run(shuffled);
        expect(actual).toEqual(expected);
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_CASES },
    );
  }, 600_000);
});
