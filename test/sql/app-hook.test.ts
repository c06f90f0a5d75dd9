import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../dev/migrate.ts";
import { type Database, openPostgres } from "../../dev/supabase/database.ts";
import { connectPatiently, createScratchDatabase } from "../support/node/scratch-db.ts";

const APP_SQL = new URL("../fixtures/app-schema/incident-app.sql", import.meta.url);
const HOOK_SQL = new URL("../../examples/app-hook-users-points.sql", import.meta.url);
const T0 = "2026-11-22T12:00:00.000Z";
/** 12 users × 5 copies = 60 connections at once: well under Postgres's default 100, with other suites running. */
const USERS = 12;
const DUPLICATES_PER_PAYMENT = 5;
const base = process.env.DATABASE_URL;
if (!base) console.log("app hook SQL: skipped (needs a real Postgres: set DATABASE_URL)");

/** One call on its own connection as service_role, as concurrent deliveries arrive; errors come back. */
async function onOwnConnection(url: string, sql: string, params: unknown[]) {
  const client = await connectPatiently(url);
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'service_role', true)");
    const { rows } = await client.query(sql, params);
    await client.query("commit");
    return { ok: true as const, result: rows[0]?.result as { outcome: string } };
  } catch (error) {
    await client.query("rollback");
    return { ok: false as const, code: (error as { code?: string }).code, message: (error as Error).message };
  } finally {
    await client.end();
  }
}

const PAY_SQL = `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
  p_amount_minor => 1999, p_currency => 'USD', p_paid_at => $3, p_source => 'webhook', p_now => $3) as result`;
const FAIL_REFUND_SQL = `select payguard.fail_refund(p_provider => 'stripe', p_refund_ref => $1,
  p_source => 'webhook', p_now => $2) as result`;
const REFUND_SQL = `select payguard.apply_refund(p_provider => 'stripe', p_order_id => $1, p_refund_ref => $2,
  p_amount_minor => $3, p_currency => 'USD', p_source => 'webhook', p_now => $4) as result`;

describe.skipIf(!base)("app hook keeps the app's own balance equal to payguard's ledger (Postgres)", () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const scratch = await createScratchDatabase(base as string, "payguard_hook");
    url = scratch.url;
    drop = scratch.drop;
    db = await openPostgres(url);
    await db.exec(await readFile(APP_SQL, "utf8"));
    await applyMigrations(db);
    await db.exec(await readFile(HOOK_SQL, "utf8"));
    await db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
                   values ('credits_100', '100 credits', 1999, 'USD', 100, true)`);
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  const newUser = async () => {
    const id = randomUUID();
    await db.query("insert into public.users (id, email) values ($1, $2)", [id, `${id}@example.com`]);
    return id;
  };
  const createOrder = async (user: string) => {
    const { rows } = await db.query<{ id: string }>(
      "select payguard.create_order(p_user_id => $1, p_package_id => 'credits_100', p_provider => 'stripe', p_now => $2) ->> 'id' as id",
      [user, T0],
    );
    return rows[0]?.id as string;
  };
  /** The given users whose app points differ from payguard's balance or ledger sum (should be none). */
  const disagreements = async (users: string[]) =>
    (
      await db.query(
        `select u.id, u.points, b.credits::int as balance, l.credits::int as ledger
           from public.users u
           left join payguard.credit_balances b on b.user_id = u.id
           left join (select user_id, sum(credits) as credits from payguard.credit_ledger group by user_id) l
             on l.user_id = u.id
          where u.id = any($1::uuid[])
            and (u.points <> coalesce(b.credits, 0) or u.points <> coalesce(l.credits, 0))`,
        [users],
      )
    ).rows;

  it(`after ${DUPLICATES_PER_PAYMENT} concurrent copies of each payment duplicated partial refunds and failed refunds, every user's points equal the ledger`, async () => {
    const users = await Promise.all(Array.from({ length: USERS }, newUser));
    const orders = await Promise.all(users.map(async (user) => ({ user, orderId: await createOrder(user) })));
    const payments = await Promise.all(
      orders.flatMap(({ orderId }) =>
        Array.from({ length: DUPLICATES_PER_PAYMENT }, () =>
          onOwnConnection(url, PAY_SQL, [orderId, `pi_${orderId}`, T0]),
        ),
      ),
    );
    expect(payments.every((p) => p.ok)).toBe(true);
    expect(payments.filter((p) => p.ok && p.result.outcome === "fulfilled")).toHaveLength(USERS);
    // Half of the users get a partial refund of about half (delivered twice at once), then the rest of it.
    const refunded = orders.slice(0, USERS / 2);
    const refunds = await Promise.all(
      refunded.flatMap(({ orderId }) => [
        onOwnConnection(url, REFUND_SQL, [orderId, `re_a_${orderId}`, 1000, T0]),
        onOwnConnection(url, REFUND_SQL, [orderId, `re_a_${orderId}`, 1000, T0]),
        onOwnConnection(url, REFUND_SQL, [orderId, `re_b_${orderId}`, 999, T0]),
      ]),
    );
    expect(refunds.every((r) => r.ok)).toBe(true);
    // For a third of those, the second refund then fails at the bank (reported twice at once): its
    // clawback is reversed once, through the same hook.
    const failed = refunded.slice(0, USERS / 6);
    const failures = await Promise.all(
      failed.flatMap(({ orderId }) => [
        onOwnConnection(url, FAIL_REFUND_SQL, [`re_b_${orderId}`, T0]),
        onOwnConnection(url, FAIL_REFUND_SQL, [`re_b_${orderId}`, T0]),
      ]),
    );
    expect(failures.every((r) => r.ok)).toBe(true);
    expect(await disagreements(users)).toEqual([]);
    const points = await db.query<{ points: number }>(
      "select points from public.users where id = any($1::uuid[]) order by points",
      [users],
    );
    // re_a (1000 of 1999) claws back 50 credits; with re_b failed, the other 50 stay with the customer.
    expect(points.rows.map((r) => r.points)).toEqual([
      ...Array(USERS / 2 - failed.length).fill(0),
      ...Array(failed.length).fill(50),
      ...Array(USERS / 2).fill(100),
    ]);
  });

  it("rolls the whole settlement back when the hook raises, and a retry after the fix credits once", async () => {
    const user = randomUUID(); // no public.users row: the example hook raises
    const orderId = await createOrder(user);
    const failed = await onOwnConnection(url, PAY_SQL, [orderId, `pi_${orderId}`, T0]);
    expect(failed).toMatchObject({ ok: false, code: "P0H01" });
    expect(failed.ok || failed.message).toContain("app hook payguard_app.on_settled failed");
    const after = await db.query(
      `select (select status from payguard.payment_orders where id = $1) as status,
              (select count(*)::int from payguard.credit_ledger where order_id = $1) as entries,
              (select count(*)::int from payguard.credit_balances where user_id = $2) as balances,
              (select count(*)::int from payguard.order_events where order_id = $1 and kind = 'paid') as paid_events`,
      [orderId, user],
    );
    expect(after.rows).toEqual([{ status: "pending", entries: 0, balances: 0, paid_events: 0 }]);
    await db.query("insert into public.users (id, email) values ($1, $2)", [user, `${user}@example.com`]);
    const retried = await onOwnConnection(url, PAY_SQL, [orderId, `pi_${orderId}`, T0]);
    expect(retried).toMatchObject({ ok: true, result: { outcome: "fulfilled" } });
    expect(await disagreements([user])).toEqual([]);
  });

  it("leaves points and ledger unchanged when the hook refuses a clawback (the app's points would go negative)", async () => {
    const user = await newUser();
    const orderId = await createOrder(user);
    expect((await onOwnConnection(url, PAY_SQL, [orderId, `pi_${orderId}`, T0])).ok).toBe(true);
    await db.query("update public.users set points = points - 60 where id = $1", [user]); // spent in the app
    const refund = await onOwnConnection(url, REFUND_SQL, [orderId, `re_${orderId}`, 1999, T0]);
    expect(refund).toMatchObject({ ok: false, code: "P0H01" }); // points would go below 0: check constraint
    const state = await db.query(
      `select u.points, b.credits::int as balance from public.users u join payguard.credit_balances b on b.user_id = u.id where u.id = $1`,
      [user],
    );
    expect(state.rows).toEqual([{ points: 40, balance: 100 }]);
  });
});
