/**
 * The breaks an adversarial review found in settlement, one named test each: refund sets whose end state
 * depended on arrival order, a refund failure racing its refund on another connection, reject-then-pay,
 * a free (100 % discount) checkout, an async payment at expiry, disputes, and the incidents that must be
 * written with the settlement (outbox). On PGlite, and on Postgres when DATABASE_URL is set; the races only
 * on Postgres, where separate connections really run at once.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, openPostgresLedger, PACKAGE_SQL } from "../support/node/ledger-db.ts";
import { connectPatiently } from "../support/node/scratch-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const AMOUNT = 1999;
const CREDITS = 100;

type OrderJson = {
  id: string;
  status: string;
  user_id: string;
  review_reason: string | null;
  expires_at: string;
};
type Outcome = { outcome: string; order: OrderJson | null; incidents?: OutboxRow[] };
type OutboxRow = {
  id: number;
  action: "raise" | "resolve";
  key: string;
  kind: string | null;
  summary: string | null;
};

/** Every ordering of `items` (a handful of facts: at most 24 orderings here). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** One fact as the SQL function that applies it takes it; refs are suffixed with the order id. */
type Fact =
  | { kind: "pay"; ref: string; minute: number; amount?: number; discount?: number }
  | { kind: "refund"; ref: string; payment: string; amount: number; currency?: string }
  | { kind: "fail"; ref: string; payment: string }
  | { kind: "dispute"; ref: string; payment: string; state: "open" | "won" | "lost"; policy?: string }
  | { kind: "reject" };

function factsOn(ledger: LedgerDb) {
  const newOrder = (pkg = "credits_100") =>
    ledger.call<OrderJson>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: pkg,
      p_provider: "stripe",
      p_now: T0,
    });
  const apply = (orderId: string, fact: Fact, minute: number): Promise<Outcome> => {
    const ref = (suffix: string) => `${suffix}_${orderId}`;
    const now = at(minute);
    switch (fact.kind) {
      case "pay":
        return ledger.call("apply_payment", {
          p_provider: "stripe",
          p_order_id: orderId,
          p_payment_ref: ref(fact.ref),
          p_amount_minor: fact.amount ?? AMOUNT,
          p_discount_minor: fact.discount ?? 0,
          p_currency: "USD",
          p_paid_at: at(fact.minute),
          p_source: "webhook",
          p_now: now,
        });
      case "refund":
        return ledger.call("apply_refund", {
          p_provider: "stripe",
          p_order_id: null,
          p_refund_ref: ref(fact.ref),
          p_amount_minor: fact.amount,
          p_currency: fact.currency ?? "USD",
          p_source: "webhook",
          p_now: now,
          p_payment_ref: ref(fact.payment),
        });
      case "fail":
        return ledger.call("fail_refund", {
          p_provider: "stripe",
          p_refund_ref: ref(fact.ref),
          p_source: "webhook",
          p_now: now,
          p_payment_ref: ref(fact.payment),
        });
      case "dispute":
        return ledger.call("apply_dispute", {
          p_provider: "stripe",
          p_order_id: null,
          p_dispute_ref: ref(fact.ref),
          p_payment_ref: ref(fact.payment),
          p_amount_minor: AMOUNT,
          p_currency: "USD",
          p_state: fact.state,
          p_policy: fact.policy ?? "claw_back",
          p_source: "webhook",
          p_now: now,
        });
      case "reject":
        return ledger.call("resolve_review", {
          p_order_id: orderId,
          p_resolution: "reject",
          p_note: "checked",
          p_now: now,
        });
    }
  };
  /** What an order ended as: status, the user's credits (ledger and balance) and every refund recorded. */
  const stateOf = async (orderId: string) => {
    const { rows } = await ledger.db.query<{ state: Record<string, unknown> }>(
      `select jsonb_build_object(
         'status', o.status,
         'credits', (select coalesce(sum(credits), 0) from payguard.credit_ledger where user_id = o.user_id),
         'balance', (select coalesce(sum(credits), 0) from payguard.credit_balances where user_id = o.user_id),
         'refunds', (select coalesce(jsonb_agg(jsonb_build_array(split_part(refund_ref, '_', 1), status, amount_minor)
                                               order by refund_ref), '[]')
                       from payguard.payment_refunds where order_id = o.id),
         'held', (select count(*) from payguard.held_facts where order_id = o.id or payment_ref like '%' || o.id)) as state
         from payguard.payment_orders o where o.id = $1`,
      [orderId],
    );
    return rows[0]?.state;
  };
  /** Applies `facts` in order to a new order and answers its end state. */
  const run = async (facts: readonly Fact[], pkg?: string) => {
    const order = await newOrder(pkg);
    for (const [i, fact] of facts.entries()) await apply(order.id, fact, 10 + i);
    return { orderId: order.id, state: await stateOf(order.id) };
  };
  const outbox = async (orderId: string) =>
    (
      await ledger.db.query<{ action: string; key: string }>(
        "select action, key from payguard.incident_outbox where key like '%:' || $1 order by id",
        [orderId],
      )
    ).rows;
  return { newOrder, apply, stateOf, run, outbox };
}

const pay: Fact = { kind: "pay", ref: "p1", minute: 1 };

describe.each(ledgerBackends("exactly-once SQL"))("exactly-once, round two, on %s", (_name, open) => {
  let ledger: LedgerDb;
  let f: ReturnType<typeof factsOn>;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
    f = factsOn(ledger);
  });
  afterAll(() => ledger.close());

  /** The same end state for every arrival order of `facts`, and that state. */
  async function sameInEveryOrder(facts: Fact[]) {
    const states = [];
    for (const order of permutations(facts)) states.push((await f.run(order)).state);
    for (const state of states) expect(state).toEqual(states[0]);
    return states[0];
  }

  it("break 2: refund, its failure, then a re-refund ends refunded with 0 credits in every arrival order", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: AMOUNT },
      { kind: "fail", ref: "r1", payment: "p1" },
      { kind: "refund", ref: "r2", payment: "p1", amount: AMOUNT },
    ]);
    expect(state).toMatchObject({
      status: "refunded",
      credits: 0,
      balance: 0,
      refunds: [
        ["r1", "failed", AMOUNT],
        ["r2", "succeeded", AMOUNT],
      ],
      held: 0,
    });
  });

  it("break 2: 70 % and 40 % refunds with the 70 % failing keep 60 credits in every arrival order", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: 1399 },
      { kind: "refund", ref: "r2", payment: "p1", amount: 800 },
      { kind: "fail", ref: "r1", payment: "p1" },
    ]);
    // 800 of 1999 back: floor(100 * 800 / 1999) = 40 credits taken.
    expect(state).toMatchObject({ status: "partially_refunded", credits: 60, balance: 60 });
  });

  it("break 2: two refunds summing over the payment are both recorded and put the order in review", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: 1500 },
      { kind: "refund", ref: "r2", payment: "p1", amount: 1000 },
    ]);
    expect(state).toMatchObject({
      status: "needs_review",
      credits: 0,
      refunds: [
        ["r1", "succeeded", 1500],
        ["r2", "succeeded", 1000],
      ],
    });
    const { orderId } = await f.run([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: 1500 },
      { kind: "refund", ref: "r2", payment: "p1", amount: 1000 },
    ]);
    expect(await f.outbox(orderId)).toContainEqual({ action: "raise", key: `needs_review:${orderId}` });
  });

  it("break 2: paid twice with both payments refunded ends refunded, 0 credits, no review, in every order", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "pay", ref: "p2", minute: 2 },
      { kind: "refund", ref: "r1", payment: "p1", amount: AMOUNT },
      { kind: "refund", ref: "r2", payment: "p2", amount: AMOUNT },
    ]);
    expect(state).toMatchObject({ status: "refunded", credits: 0, balance: 0, held: 0 });
  });

  it("break 2: an over-refund review clears itself once a refund fails, back to what the facts imply", async () => {
    const { orderId } = await f.run([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: AMOUNT },
      { kind: "refund", ref: "r2", payment: "p1", amount: AMOUNT },
    ]);
    expect(await f.stateOf(orderId)).toMatchObject({ status: "needs_review", credits: 0 });
    await f.apply(orderId, { kind: "fail", ref: "r1", payment: "p1" }, 30);
    expect(await f.stateOf(orderId)).toMatchObject({ status: "refunded", credits: 0 });
    // Only the key's latest change waits in the outbox: a drain can never reopen it with the older raise.
    expect((await f.outbox(orderId)).filter((row) => row.key === `needs_review:${orderId}`)).toEqual([
      { action: "resolve", key: `needs_review:${orderId}` },
    ]);
  });

  it("break 4: reject, then a matching payment: stays failed with 0 credits, the payment named to refund", async () => {
    const order = await f.newOrder();
    await f.apply(order.id, { kind: "pay", ref: "pm", minute: 1, amount: 999 }, 2);
    expect((await f.apply(order.id, { kind: "reject" }, 3)).outcome).toBe("failed");
    const paid = await f.apply(order.id, pay, 4);
    expect(paid.order?.status).toBe("failed");
    expect(paid.incidents).toContainEqual(
      expect.objectContaining({ action: "raise", key: `paid_after_rejection:${order.id}` }),
    );
    expect(await f.stateOf(order.id)).toMatchObject({ status: "failed", credits: 0 });
    // Neither the audit nor its repair grants it; a later refund takes nothing either.
    const findings = await ledger.call<Array<{ kind: string; subject: string }>>("audit_ledger", {
      p_now: at(5),
    });
    expect(findings.filter((finding) => finding.subject === order.id).map((x) => x.kind)).toEqual([]);
    expect(await ledger.call("repair_missing_grant", { p_order_id: order.id, p_now: at(6) })).toEqual({
      outcome: "noop",
    });
    await f.apply(order.id, { kind: "refund", ref: "r1", payment: "p1", amount: 500 }, 7);
    expect(await f.stateOf(order.id)).toMatchObject({ status: "failed", credits: 0, balance: 0 });
  });

  it("break 4: pay, review, reject: the purchase is taken back and a later refund takes nothing more", async () => {
    const order = await f.newOrder();
    await f.apply(order.id, pay, 1);
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "chargeback risk", p_now: at(2) });
    await f.apply(order.id, { kind: "reject" }, 3);
    await f.apply(order.id, { kind: "refund", ref: "r1", payment: "p1", amount: 500 }, 4);
    expect(await f.stateOf(order.id)).toMatchObject({ status: "failed", credits: 0, balance: 0 });
  });

  it("break 7 (SQL): a payment of 0 with the whole price as discount fulfils with every credit", async () => {
    const { orderId, state } = await f.run([
      { kind: "pay", ref: "p1", minute: 1, amount: 0, discount: AMOUNT },
    ]);
    expect(state).toMatchObject({ status: "fulfilled", credits: CREDITS });
    const { rows } = await ledger.db.query(
      "select discount_minor from payguard.payment_orders where id = $1",
      [orderId],
    );
    expect(rows).toEqual([{ discount_minor: expect.anything() }]);
    expect(Number(rows[0]?.discount_minor)).toBe(AMOUNT);
  });

  it("break 9: an async payment in flight keeps its order pending and its stock unit past the expiry", async () => {
    const order = await f.newOrder("limited");
    const until = at(60 * 24 * 3);
    const awaited = await ledger.call<Outcome>("await_payment", {
      p_order_id: order.id,
      p_payment_ref: `p1_${order.id}`,
      p_until: until,
      p_now: at(20),
    });
    expect(awaited.outcome).toBe("awaiting_payment");
    expect(Date.parse(awaited.order?.expires_at ?? "")).toBe(Date.parse(until));
    // The unit stays held: nobody else can buy the last one while the payment is in flight.
    await expect(
      ledger.call("create_order", {
        p_user_id: randomUUID(),
        p_package_id: "limited",
        p_provider: "stripe",
        p_now: at(40),
      }),
    ).rejects.toThrow(/out_of_stock/);
    expect((await f.apply(order.id, { kind: "pay", ref: "p1", minute: 50, amount: 500 }, 50)).outcome).toBe(
      "fulfilled",
    );
  });

  it("break 9: an async payment with no result by its deadline expires the order, once checked past it", async () => {
    const order = await f.newOrder();
    const until = at(60);
    await ledger.call("await_payment", {
      p_order_id: order.id,
      p_payment_ref: null,
      p_until: until,
      p_now: at(1),
    });
    const still = await ledger.call<Outcome>("await_payment", {
      p_order_id: order.id,
      p_payment_ref: null,
      p_until: until,
      p_now: at(30),
    });
    expect(still.order?.status).toBe("pending");
    // Checked hourly meanwhile (the result normally comes as an event), never later than the deadline.
    expect(Date.parse((still.order as unknown as { next_check_at: string }).next_check_at)).toBe(
      Date.parse(until),
    );
    const past = await ledger.call<Outcome>("await_payment", {
      p_order_id: order.id,
      p_payment_ref: null,
      p_until: until,
      p_now: at(61),
    });
    expect(past).toMatchObject({ outcome: "expired", order: { status: "expired" } });
  });

  it("break 9: a late payment for a unit sold meanwhile goes to review without credits, never a second unit sold", async () => {
    await ledger.db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
      values ('single', 'single', 500, 'USD', 10, true, 1) on conflict do nothing`);
    const first = await f.newOrder("single");
    await ledger.call("expire_order", { p_order_id: first.id, p_reason: "expired", p_now: at(31) });
    const second = await f.newOrder("single");
    await f.apply(second.id, { kind: "pay", ref: "p1", minute: 32, amount: 500 }, 32);
    const late = await f.apply(first.id, { kind: "pay", ref: "p1", minute: 33, amount: 500 }, 33);
    expect(late.outcome).toBe("needs_review");
    expect(late.order?.review_reason).toContain("sold out");
    expect(await f.stateOf(first.id)).toMatchObject({ status: "needs_review", credits: 0 });
    expect(late.incidents?.map((row) => row.key)).toEqual(
      expect.arrayContaining([`needs_review:${first.id}`, `late_payment:${first.id}`]),
    );
    // The operator decides: granting it credits it once.
    await ledger.call("resolve_review", {
      p_order_id: first.id,
      p_resolution: "fulfil",
      p_note: "ok",
      p_now: at(40),
    });
    expect(await f.stateOf(first.id)).toMatchObject({ status: "fulfilled", credits: 10 });
  });

  it("needs_review resolves when an operator decides the review", async () => {
    const order = await f.newOrder();
    await f.apply(order.id, pay, 1);
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "looks odd", p_now: at(2) });
    const decided = await ledger.call<Outcome>("resolve_review", {
      p_order_id: order.id,
      p_resolution: "fulfil",
      p_note: "fine",
      p_now: at(3),
    });
    expect(decided.incidents).toContainEqual(
      expect.objectContaining({ action: "resolve", key: `needs_review:${order.id}` }),
    );
  });

  it("app_hook_failed resolves when the order later settles through the hook", async () => {
    await ledger.db.exec(`create schema if not exists payguard_app;
      create or replace function payguard_app.on_settled(change jsonb) returns void language sql as 'select null';`);
    try {
      const order = await f.newOrder();
      await ledger.call("open_incident", {
        p_key: `app_hook_failed:${order.id}`,
        p_kind: "app_hook_failed",
        p_severity: "critical",
        p_summary: "hook failed",
        p_detail: {},
        p_now: at(1),
      });
      const paid = await f.apply(order.id, pay, 2);
      expect(paid.incidents).toContainEqual(
        expect.objectContaining({ action: "resolve", key: `app_hook_failed:${order.id}` }),
      );
    } finally {
      await ledger.db.exec("drop schema payguard_app cascade");
    }
  });

  it("a refund in another currency is recorded with its currency, takes no credits and asks for review", async () => {
    const { state } = await f.run([
      pay,
      { kind: "refund", ref: "r1", payment: "p1", amount: 100, currency: "EUR" },
    ]);
    expect(state).toMatchObject({
      status: "needs_review",
      credits: CREDITS,
      refunds: [["r1", "succeeded", 100]],
    });
  });

  it("dispute opened: credits taken back as a `dispute` entry, even into a negative balance, and a critical incident", async () => {
    const order = await f.newOrder();
    await f.apply(order.id, pay, 1);
    // The customer spent the credits meanwhile.
    await ledger.db.query(
      `with spent as (insert into payguard.credit_ledger (user_id, kind, credits, note, created_at)
                      values ($1, 'adjustment', -100, 'spent', $2) returning user_id, credits)
       update payguard.credit_balances b set credits = b.credits + spent.credits from spent where b.user_id = spent.user_id`,
      [order.user_id, at(2)],
    );
    const opened = await f.apply(order.id, { kind: "dispute", ref: "dp1", payment: "p1", state: "open" }, 3);
    expect(opened.outcome).toBe("disputed");
    expect(opened.incidents).toContainEqual(
      expect.objectContaining({ action: "raise", key: `dispute:${order.id}`, kind: "dispute" }),
    );
    expect(await f.stateOf(order.id)).toMatchObject({ credits: -100, balance: -100 });
    const { rows } = await ledger.db.query(
      "select kind, credits::int, dispute_ref from payguard.credit_ledger where order_id = $1 order by id",
      [order.id],
    );
    expect(rows).toEqual([
      { kind: "purchase", credits: 100, dispute_ref: null },
      { kind: "dispute", credits: -100, dispute_ref: `dp1_${order.id}` },
    ]);
  });

  it("dispute won: the credits come back once and the incident resolves, in every arrival order", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "dispute", ref: "dp1", payment: "p1", state: "open" },
      { kind: "dispute", ref: "dp1", payment: "p1", state: "won" },
    ]);
    expect(state).toMatchObject({ status: "fulfilled", credits: CREDITS, balance: CREDITS, held: 0 });
    const { orderId } = await f.run([
      pay,
      { kind: "dispute", ref: "dp1", payment: "p1", state: "open" },
      { kind: "dispute", ref: "dp1", payment: "p1", state: "won" },
    ]);
    expect(await f.outbox(orderId)).toEqual([{ action: "resolve", key: `dispute:${orderId}` }]);
  });

  it("dispute lost: the credits stay taken back, in every arrival order, funds events idempotent", async () => {
    const state = await sameInEveryOrder([
      pay,
      { kind: "dispute", ref: "dp1", payment: "p1", state: "open" },
      { kind: "dispute", ref: "dp1", payment: "p1", state: "lost" },
    ]);
    expect(state).toMatchObject({ status: "fulfilled", credits: 0, balance: 0, held: 0 });
    // funds_withdrawn and a repeat of created are the same open dispute: nothing more is taken.
    const { orderId } = await f.run([pay, { kind: "dispute", ref: "dp1", payment: "p1", state: "open" }]);
    const again = await f.apply(orderId, { kind: "dispute", ref: "dp1", payment: "p1", state: "open" }, 40);
    expect(again.outcome).toBe("duplicate");
    expect(await f.stateOf(orderId)).toMatchObject({ credits: 0 });
  });

  it("dispute under the notify policy: the incident only, credits kept", async () => {
    const { orderId, state } = await f.run([
      pay,
      { kind: "dispute", ref: "dp1", payment: "p1", state: "open", policy: "notify" },
    ]);
    expect(state).toMatchObject({ credits: CREDITS });
    expect(await f.outbox(orderId)).toEqual([{ action: "raise", key: `dispute:${orderId}` }]);
  });

  it("claims unconfirmed outbox rows once per lease and deletes them when delivered", async () => {
    const { orderId } = await f.run([pay, { kind: "dispute", ref: "dp1", payment: "p1", state: "open" }]);
    const now = at(60 * 24 * 365);
    const claimed = await ledger.call<OutboxRow[]>("claim_incident_outbox", {
      p_limit: 1000,
      p_lease_seconds: 60,
      p_now: now,
      p_min_age_seconds: 60,
    });
    const mine = claimed.filter((row) => row.key === `dispute:${orderId}`);
    expect(mine).toHaveLength(1);
    const again = await ledger.call<OutboxRow[]>("claim_incident_outbox", {
      p_limit: 1000,
      p_lease_seconds: 60,
      p_now: now,
      p_min_age_seconds: 60,
    });
    expect(again.filter((row) => row.key === `dispute:${orderId}`)).toEqual([]);
    const ids = `{${mine.map((row) => row.id).join(",")}}`;
    expect(await ledger.call("finish_incident_outbox", { p_ids: ids })).toBe(1);
    expect(await f.outbox(orderId)).toEqual([]);
  });
});

const base = process.env.DATABASE_URL;
const RACE_TRIALS = 12;

describe.skipIf(!base)("exactly-once races on separate connections (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  let f: ReturnType<typeof factsOn>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(PACKAGE_SQL);
    f = factsOn(ledger);
  });
  afterAll(() => ledger.close());

  async function onOwnConnection(sql: string, args: unknown[]) {
    const client: pg.Client = await connectPatiently(ledger.url);
    try {
      await client.query("begin");
      await client.query("select set_config('role', 'service_role', true)");
      await client.query(sql, args);
      await client.query("commit");
    } finally {
      await client.end();
    }
  }

  it(`break 3: a held refund's failure racing its payment ends failed and clawed nothing (${RACE_TRIALS} trials)`, async () => {
    for (let trial = 0; trial < RACE_TRIALS; trial++) {
      const order = await f.newOrder();
      const payment = `p1_${order.id}`;
      const refund = `r1_${order.id}`;
      await f.apply(order.id, { kind: "refund", ref: "r1", payment: "p1", amount: AMOUNT }, 1);
      // The payment and refund.failed arrive together, through two different OrderGuards.
      await Promise.all([
        onOwnConnection(
          `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
             p_amount_minor => ${AMOUNT}, p_currency => 'USD', p_paid_at => $3, p_source => 'webhook', p_now => $3)`,
          [order.id, payment, at(2)],
        ),
        onOwnConnection(
          `select payguard.fail_refund(p_provider => 'stripe', p_refund_ref => $1, p_source => 'webhook', p_now => $2,
             p_payment_ref => $3)`,
          [refund, at(2), payment],
        ),
      ]);
      expect(await f.stateOf(order.id)).toMatchObject({
        status: "fulfilled",
        credits: CREDITS,
        refunds: [["r1", "failed", AMOUNT]],
        held: 0,
      });
    }
  });

  it("break 3: the audit finds a refund failure its refund row does not show, and the repair applies it", async () => {
    const order = await f.newOrder();
    await f.apply(order.id, pay, 1);
    await f.apply(order.id, { kind: "refund", ref: "r1", payment: "p1", amount: AMOUNT }, 2);
    // What the race used to leave: a failure row beside a refund still counted.
    await ledger.db.query(
      "insert into payguard.refund_failures (provider, refund_ref, failed_at) values ('stripe', $1, $2)",
      [`r1_${order.id}`, at(3)],
    );
    const findings = await ledger.call<Array<{ kind: string; subject: string }>>("audit_ledger", {
      p_now: at(4),
    });
    expect(findings).toContainEqual(
      expect.objectContaining({ kind: "refund_failure_unapplied", subject: `stripe:r1_${order.id}` }),
    );
    const repaired = await ledger.call<Outcome>("repair_refund_failure", {
      p_provider: "stripe",
      p_refund_ref: `r1_${order.id}`,
      p_now: at(5),
    });
    expect(repaired.outcome).toBe("refund_failed");
    expect(await f.stateOf(order.id)).toMatchObject({ status: "fulfilled", credits: CREDITS });
  });
});
