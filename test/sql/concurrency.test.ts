import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresLedger, PACKAGE_SQL } from "../support/node/ledger-db.ts";
import { connectPatiently } from "../support/node/scratch-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const CONCURRENT_CALLS = 50;
const ORDERS = 200;
const DUPLICATES_PER_ORDER = 5;
const base = process.env.DATABASE_URL;
if (!base) console.log("concurrency SQL: skipped (needs a real Postgres: set DATABASE_URL)");

/** Each call on its own connection, as concurrent webhook deliveries would arrive. */
async function onOwnConnection<T>(url: string, sql: string, params: unknown[]): Promise<T> {
  const client = await connectPatiently(url);
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'service_role', true)");
    const { rows } = await client.query(sql, params);
    await client.query("commit");
    return rows[0]?.result as T;
  } finally {
    await client.end();
  }
}

const PAY_SQL = `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
  p_amount_minor => 1999, p_currency => 'USD', p_paid_at => $3, p_source => 'webhook', p_now => $3,
  p_metadata => $4::jsonb) as result`;

describe.skipIf(!base)("exactly-once under real concurrency (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const createOrder = (user: string, now = T0) =>
    ledger.call<{ id: string }>("create_order", {
      p_user_id: user,
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: now,
    });

  it(`credits once when ${CONCURRENT_CALLS} connections apply the same payment at once`, async () => {
    const user = randomUUID();
    const order = await createOrder(user);
    const outcomes = await Promise.all(
      Array.from({ length: CONCURRENT_CALLS }, () =>
        onOwnConnection<{ outcome: string }>(ledger.url, PAY_SQL, [order.id, "pi_storm", T0, null]),
      ),
    );
    const counts: Record<string, number> = {};
    for (const { outcome } of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
    expect(counts).toEqual({ fulfilled: 1, duplicate: CONCURRENT_CALLS - 1 });
    const rows = await ledger.db.query("select credits from payguard.credit_ledger where order_id = $1", [
      order.id,
    ]);
    expect(rows.rows).toEqual([{ credits: "100" }]);
    const balance = await ledger.db.query("select credits from payguard.credit_balances where user_id = $1", [
      user,
    ]);
    expect(balance.rows).toEqual([{ credits: "100" }]);
  });

  it("never strands a refund held while its payment commits: refund and payment race on 50 orders", async () => {
    const REFUND_SQL = `select payguard.apply_refund(p_provider => 'stripe', p_order_id => null, p_refund_ref => $1,
      p_amount_minor => 1999, p_currency => 'USD', p_source => 'webhook', p_now => $2, p_payment_ref => $3) as result`;
    const orders = await Promise.all(Array.from({ length: 50 }, () => createOrder(randomUUID())));
    await Promise.all(
      orders.flatMap((order) => [
        onOwnConnection(ledger.url, PAY_SQL, [order.id, `pi_race_${order.id}`, T0, null]),
        onOwnConnection(ledger.url, REFUND_SQL, [`re_race_${order.id}`, T0, `pi_race_${order.id}`]),
      ]),
    );
    const ids = orders.map((o) => o.id);
    const statuses = await ledger.db.query<{ status: string; n: string }>(
      "select status, count(*) as n from payguard.payment_orders where id = any($1) group by status",
      [ids],
    );
    expect(statuses.rows).toEqual([{ status: "refunded", n: "50" }]);
    const held = await ledger.db.query(
      "select 1 from payguard.held_facts where payment_ref like 'pi_race_%'",
    );
    expect(held.rows).toEqual([]);
    const net = await ledger.db.query<{ n: string }>(
      "select coalesce(sum(credits), 0) as n from payguard.credit_ledger where order_id = any($1)",
      [ids],
    );
    expect(net.rows).toEqual([{ n: "0" }]);
  });

  it("rebuilds a missing order from metadata once when deliveries race", async () => {
    const user = randomUUID();
    const orderId = `ord_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const metadata = JSON.stringify({ user_id: user, package_id: "credits_100" });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        onOwnConnection<{ outcome: string }>(ledger.url, PAY_SQL, [orderId, "pi_meta", T0, metadata]),
      ),
    );
    expect(outcomes.filter((o) => o.outcome === "created_from_metadata")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "duplicate")).toHaveLength(9);
  });

  it(`keeps balance = sum(ledger) for ${ORDERS} orders x ${DUPLICATES_PER_ORDER} concurrent duplicates`, async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    const orders = [];
    for (let i = 0; i < ORDERS; i++) orders.push(await createOrder(users[i % users.length] as string));
    const pool = new pg.Pool({ connectionString: ledger.url, max: 20 });
    try {
      await Promise.all(
        orders.flatMap((order) =>
          Array.from({ length: DUPLICATES_PER_ORDER }, async () => {
            const client = await pool.connect();
            try {
              await client.query("begin");
              await client.query("select set_config('role', 'service_role', true)");
              await client.query(PAY_SQL, [order.id, `pi_${order.id}`, T0, null]);
              await client.query("commit");
            } finally {
              client.release();
            }
          }),
        ),
      );
    } finally {
      await pool.end();
    }
    const grants = await ledger.db.query<{ n: string }>(
      "select count(*) as n from payguard.credit_ledger where kind = 'purchase' and order_id = any($1)",
      [orders.map((o) => o.id)],
    );
    expect(Number(grants.rows[0]?.n)).toBe(ORDERS);
    const drift = await ledger.db.query(
      `select b.user_id from payguard.credit_balances b
         left join (select user_id, sum(credits) s from payguard.credit_ledger group by user_id) l using (user_id)
        where b.credits <> coalesce(l.s, 0) and b.user_id = any($1)`,
      [users],
    );
    expect(drift.rows).toEqual([]);
    const perUser = await ledger.db.query<{ credits: string }>(
      "select credits from payguard.credit_balances where user_id = $1",
      [users[0]],
    );
    expect(Number(perUser.rows[0]?.credits)).toBe((ORDERS / users.length) * 100);
  });

  it("never hands the same due order to two overlapping lease calls", async () => {
    const earlier = "2026-11-22T11:00:00.000Z";
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await createOrder(randomUUID(), earlier)).id);
    const LEASE_SQL =
      "select payguard.lease_due_orders(p_limit => 25, p_lease_seconds => 300, p_now => $1, p_provider => 'stripe') as result";
    const [a, b] = await Promise.all([
      onOwnConnection<Array<{ id: string }>>(ledger.url, LEASE_SQL, [T0]),
      onOwnConnection<Array<{ id: string }>>(ledger.url, LEASE_SQL, [T0]),
    ]);
    const first = (a ?? []).map((o) => o.id).filter((id) => ids.has(id));
    const second = (b ?? []).map((o) => o.id).filter((id) => ids.has(id));
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect(first.length + second.length).toBe(40);
  });
});
