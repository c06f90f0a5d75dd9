/**
 * Subscription credits as a property over the SQL functions: a subscription's end state (the user's balance,
 * what each invoice's grant is worth, its recorded invoices) depends only on the SET of its facts (paid invoices of several periods,
 * a plan change's proration, refunds and a dispute of its invoices, state reports), never on their arrival
 * order or duplicates; and with neither refunds nor disputes it is what the rule says: every period's
 * credits under `accumulate`, the last period's under `reset`. Each case runs its facts shuffled and
 * duplicated for one user, and in their natural order (periods first, then refunds) for another.
 *
 * SUBSCRIPTION_PROPERTY_SEED replays a run, SUBSCRIPTION_PROPERTY_CASES changes its size.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, openPgliteLedger } from "../support/node/ledger-db.ts";

const SEED = Number(process.env.SUBSCRIPTION_PROPERTY_SEED ?? 20261207);
const CASES = Number(process.env.SUBSCRIPTION_PROPERTY_CASES ?? 60);
const PROPERTY_TIMEOUT_MS = 300_000;
const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const PERIOD_MS = 30 * 86_400_000;

const PLANS_SQL = `
  insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
  values ('p_basic', 'Basic', 1000, 'USD', 100, true), ('p_pro', 'Pro', 3000, 'USD', 500, true),
         ('p_reset', 'Reset', 1000, 'USD', 100, true), ('p_reset_pro', 'Reset pro', 3000, 'USD', 500, true);
  insert into payguard.credit_plans (package_id, price_ref, interval, expiry_policy)
  values ('p_basic', 'price_p_basic', 'month', 'accumulate'), ('p_pro', 'price_p_pro', 'month', 'accumulate'),
         ('p_reset', 'price_p_reset', 'month', 'reset'), ('p_reset_pro', 'price_p_reset_pro', 'month', 'reset');`;

interface Scenario {
  policy: "accumulate" | "reset";
  periods: number;
  /** The period in which the customer upgrades halfway (a proration invoice), or null. */
  upgradeIn: number | null;
  /** Per invoice index: the amount refunded (0: none). */
  refunds: number[];
  dispute: { invoice: number; state: "open" | "won" | "lost" } | null;
}

type Fact = { kind: string } & Record<string, unknown>;

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    policy: fc.constantFrom("accumulate" as const, "reset" as const),
    periods: fc.integer({ min: 2, max: 4 }),
    upgrade: fc.option(fc.nat({ max: 3 })),
    refunds: fc.array(fc.constantFrom(0, 0, 300, 1000), { minLength: 5, maxLength: 5 }),
    dispute: fc.option(
      fc.record({
        invoice: fc.nat({ max: 4 }),
        state: fc.constantFrom("open" as const, "won" as const, "lost" as const),
      }),
    ),
  })
  .map(({ policy, periods, upgrade, refunds, dispute }) => ({
    policy,
    periods,
    upgradeIn: upgrade === null ? null : upgrade % periods,
    refunds,
    dispute: dispute && { ...dispute, invoice: dispute.invoice % periods },
  }));

/** The facts of one subscription: its invoices (the upgrade's last), refunds and dispute, state reports. */
function subscriptionFacts(scenario: Scenario, user: string, tag: string): Fact[] {
  const [base, pro] = scenario.policy === "accumulate" ? ["p_basic", "p_pro"] : ["p_reset", "p_reset_pro"];
  const sub = `sub_${tag}`;
  const invoice = (n: number, reason: string, lines: object[], start: number, end: number, plan: string) => ({
    kind: "invoice_paid",
    provider: "stripe",
    invoice_ref: `in_${tag}_${n}`,
    subscription_ref: sub,
    billing_reason: reason,
    payment_ref: `pi_${tag}_${n}`,
    amount_minor: lines.reduce(
      (sum: number, line) => sum + (line as { amount_minor: number }).amount_minor,
      0,
    ),
    discount_minor: 0,
    currency: "USD",
    paid_at: new Date(start + 60_000).toISOString(),
    period_start: new Date(start).toISOString(),
    period_end: new Date(end).toISOString(),
    metadata: { user_id: user, package_id: plan },
    lines,
  });
  const line = (plan: string, amount: number, proration = false) => ({
    price_ref: `price_${plan}`,
    amount_minor: amount,
    currency: "USD",
    quantity: 1,
    proration,
  });
  const facts: Fact[] = [];
  const upgraded = (n: number) => scenario.upgradeIn !== null && n > scenario.upgradeIn;
  for (let n = 0; n < scenario.periods; n++) {
    const start = T0 + n * PERIOD_MS;
    const plan = upgraded(n) ? pro : base;
    const price = plan === pro ? 3000 : 1000;
    facts.push(
      invoice(
        n,
        n === 0 ? "subscription_create" : "subscription_cycle",
        [line(plan, price)],
        start,
        start + PERIOD_MS,
        plan,
      ),
    );
  }
  if (scenario.upgradeIn !== null) {
    const start = T0 + scenario.upgradeIn * PERIOD_MS;
    const half = start + PERIOD_MS / 2;
    facts.push(
      invoice(
        9,
        "subscription_update",
        [line(base, -500, true), line(pro, 1500, true)],
        half,
        start + PERIOD_MS,
        pro,
      ),
    );
  }
  const paidInvoices = facts.map((fact) => fact.invoice_ref as string);
  const amountOf = (ref: string) => facts.find((fact) => fact.invoice_ref === ref)?.amount_minor as number;
  scenario.refunds.forEach((amount, i) => {
    const ref = paidInvoices[i];
    if (!ref || amount === 0) return;
    facts.push({
      kind: "refunded",
      provider: "stripe",
      payment_ref: ref.replace(/^in_/, "pi_"),
      refund_ref: `re_${ref}`,
      amount_minor: Math.min(amount, amountOf(ref)),
      currency: "USD",
    });
  });
  if (scenario.dispute) {
    const ref = paidInvoices[scenario.dispute.invoice] as string;
    facts.push({
      kind: "disputed",
      provider: "stripe",
      payment_ref: ref.replace(/^in_/, "pi_"),
      dispute_ref: `dp_${ref}`,
      amount_minor: amountOf(ref),
      currency: "USD",
      state: scenario.dispute.state,
      policy: "claw_back",
    });
  }
  facts.push({
    kind: "subscription_state",
    provider: "stripe",
    subscription_ref: sub,
    status: "active",
    reported_at: new Date(T0 + (scenario.periods - 1) * PERIOD_MS).toISOString(),
    current_period_start: new Date(T0 + (scenario.periods - 1) * PERIOD_MS).toISOString(),
    current_period_end: new Date(T0 + scenario.periods * PERIOD_MS).toISOString(),
    cancel_at_period_end: false,
    price_ref: null,
    metadata: { user_id: user, package_id: base },
  });
  return facts;
}

/** What the rule grants with neither refunds nor disputes. */
function expectedBalance(scenario: Scenario): number {
  const credits = (n: number) => (scenario.upgradeIn !== null && n > scenario.upgradeIn ? 500 : 100);
  const proration = scenario.upgradeIn === null ? 0 : 200;
  if (scenario.policy === "accumulate")
    return (
      Array.from({ length: scenario.periods }, (_, n) => credits(n)).reduce((a, b) => a + b, 0) + proration
    );
  const last = scenario.periods - 1;
  return credits(last) + (scenario.upgradeIn === last ? proration : 0);
}

describe("subscription credits: the end state depends only on the set of facts (PGlite)", () => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await openPgliteLedger();
    await ledger.db.exec(PLANS_SQL);
  });
  afterAll(() => ledger.close());

  const deliver = async (fact: Fact, eventId: string) => {
    const locator =
      fact.kind === "refunded" || fact.kind === "disputed"
        ? { by: "payment", ref: fact.payment_ref, claimed_order_id: null }
        : { by: null, ref: null, claimed_order_id: fact.invoice_ref ?? null };
    await ledger.call("settle_event", {
      p_provider: "stripe",
      p_event_id: eventId,
      p_event_type: fact.kind,
      p_locator: locator,
      p_facts: [fact],
      p_source: "webhook",
      p_now: new Date(T0 + 6 * PERIOD_MS).toISOString(),
    });
  };
  /** Balance and ledger with the case's ids replaced, so two runs of one case compare equal. */
  const stateOf = async (user: string, tag: string) => {
    const rows = await ledger.db.query<{ kind: string; credits: string; subject: string | null }>(
      `select kind, credits, coalesce(order_id, expired_order_id) as subject from payguard.credit_ledger
        where user_id = $1`,
      [user],
    );
    const invoices = await ledger.db.query<{ invoice_ref: string; credits: number }>(
      "select invoice_ref, credits from payguard.subscription_invoices where subscription_id = $1",
      [`sub_${tag}`],
    );
    const untag = (value: string | null) => (value ?? "").replaceAll(tag, "#");
    // What each invoice's grant is worth now (its grant, clawbacks, expiry and their adjustments together):
    // the rows that make it up may differ with the path (an expiry given back, or never taken).
    const bySubject = new Map<string, number>();
    for (const row of rows.rows) {
      const key = untag(row.subject);
      bySubject.set(key, (bySubject.get(key) ?? 0) + Number(row.credits));
    }
    return {
      balance: rows.rows.reduce((sum, row) => sum + Number(row.credits), 0),
      credits: [...bySubject.entries()].sort(),
      invoices: invoices.rows.map((row) => `${untag(row.invoice_ref)}:${row.credits}`).sort(),
    };
  };

  it(
    `${CASES} cases: shuffled and duplicated deliveries end as the natural order does`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          scenarioArb,
          fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
          fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 16, maxLength: 16 }),
          async (scenario, order, copies) => {
            const natural = { user: randomUUID(), tag: randomUUID().replaceAll("-", "").slice(0, 10) };
            const shuffled = { user: randomUUID(), tag: randomUUID().replaceAll("-", "").slice(0, 10) };
            for (const [i, fact] of subscriptionFacts(scenario, natural.user, natural.tag).entries())
              await deliver(fact, `evt_${natural.tag}_${i}`);
            const facts = subscriptionFacts(scenario, shuffled.user, shuffled.tag);
            const deliveries = facts.flatMap((fact, i) =>
              Array.from({ length: copies[i] ?? 1 }, (_, copy) => ({
                fact,
                id: `evt_${shuffled.tag}_${i}_${copy % 2}`,
              })),
            );
            const ranked = deliveries
              .map((delivery, i) => ({ delivery, rank: order[i % order.length] ?? 0, i }))
              .sort((a, b) => a.rank - b.rank || a.i - b.i);
            for (const { delivery } of ranked) await deliver(delivery.fact, delivery.id);
            const expected = await stateOf(natural.user, natural.tag);
            expect(await stateOf(shuffled.user, shuffled.tag)).toEqual(expected);
            if (!scenario.dispute && scenario.refunds.every((amount) => amount === 0))
              expect(expected.balance).toBe(expectedBalance(scenario));
          },
        ),
        { seed: SEED, numRuns: CASES },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
