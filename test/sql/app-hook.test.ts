/**
 * examples/app-hook-users-points.sql against an app shaped like the ones in the incident reports
 * (test/fixtures/app-schema): the app's `public.users.points` always equals payguard's ledger. A paying
 * user without a public.users row gets one (from auth.users) instead of a rolled-back settlement; a hook
 * that raises still rolls the whole settlement back. PGlite always; the same on DATABASE_URL's real
 * Postgres, which also runs concurrent deliveries.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../dev/migrate.ts";
import { type Database, openPglite, openPostgres } from "../../dev/supabase/database.ts";
import { connectPatiently, createScratchDatabase } from "../support/node/scratch-db.ts";

const APP_SQL = new URL("../fixtures/app-schema/incident-app.sql", import.meta.url);
const HOOK_SQL = new URL("../../examples/app-hook-users-points.sql", import.meta.url);
/** The two columns of Supabase Auth's `auth.users` the example reads; every Supabase project has the table. */
const AUTH_USERS_SQL = `create table if not exists auth.users (id uuid primary key, email text);
  grant select on auth.users to postgres;`;
/** A hook that refuses every change, as an app's hook does when one of its own checks fails. */
const RAISING_HOOK_SQL = `create or replace function payguard_app.on_settled(change jsonb) returns void
  language plpgsql security definer set search_path = '' as $$
  begin raise exception 'the app refuses this change'; end $$`;
const T0 = "2026-11-22T12:00:00.000Z";
/** 12 users × 5 copies = 60 connections at once: well under Postgres's default 100, with other suites running. */
const USERS = 12;
const DUPLICATES_PER_PAYMENT = 5;
const base = process.env.DATABASE_URL;

const PAY_SQL = `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
  p_amount_minor => 1999, p_currency => 'USD', p_paid_at => $3, p_source => 'webhook', p_now => $3) as result`;
const FAIL_REFUND_SQL = `select payguard.fail_refund(p_provider => 'stripe', p_refund_ref => $1,
  p_source => 'webhook', p_now => $2) as result`;
const REFUND_SQL = `select payguard.apply_refund(p_provider => 'stripe', p_order_id => $1, p_refund_ref => $2,
  p_amount_minor => $3, p_currency => 'USD', p_source => 'webhook', p_now => $4) as result`;

type Outcome =
  | { ok: true; result: { outcome: string } }
  | { ok: false; code: string | undefined; message: string };

const failure = (error: unknown): Outcome => ({
  ok: false,
  code: (error as { code?: string }).code,
  message: (error as Error).message,
});

/** One call in its own transaction as service_role, as the worker's RPC runs it; errors come back. */
async function asServiceRole(db: Database, sql: string, params: unknown[]): Promise<Outcome> {
  try {
    const rows = await db.transaction(async (tx) => {
      await tx.query("select set_config('role', 'service_role', true)");
      return (await tx.query<{ result: { outcome: string } }>(sql, params)).rows;
    });
    return { ok: true, result: rows[0]?.result as { outcome: string } };
  } catch (error) {
    return failure(error);
  }
}

/** The same on a connection of its own, as concurrent deliveries arrive (real Postgres only). */
async function onOwnConnection(url: string, sql: string, params: unknown[]): Promise<Outcome> {
  const client = await connectPatiently(url);
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'service_role', true)");
    const { rows } = await client.query(sql, params);
    await client.query("commit");
    return { ok: true, result: rows[0]?.result as { outcome: string } };
  } catch (error) {
    await client.query("rollback");
    return failure(error);
  } finally {
    await client.end();
  }
}

interface AppDatabase {
  /** As the project's owner (postgres): migrations, the app's SQL, the hook. */
  db: Database;
  /** Where Supabase Auth's table is written (a superuser on a Supabase-shaped server). */
  auth: Database;
  url: string | null;
  close(): Promise<void>;
}

async function installApp(app: AppDatabase): Promise<AppDatabase> {
  await app.db.exec(await readFile(APP_SQL, "utf8"));
  await app.auth.exec(AUTH_USERS_SQL);
  await applyMigrations(app.db);
  await app.db.exec(await readFile(HOOK_SQL, "utf8"));
  await app.db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
                     values ('credits_100', '100 credits', 1999, 'USD', 100, true)`);
  return app;
}

const backends: Array<[string, () => Promise<AppDatabase>]> = [
  [
    "PGlite",
    async () => {
      const db = await openPglite();
      return installApp({ db, auth: db, url: null, close: () => db.close() });
    },
  ],
];
if (base) {
  backends.push([
    "Postgres",
    async () => {
      const scratch = await createScratchDatabase(base, "payguard_hook");
      const db = await openPostgres(scratch.url);
      const auth = await openPostgres(scratch.adminUrl);
      const close = async () => {
        await Promise.all([db.close(), auth.close()]);
        await scratch.drop();
      };
      return installApp({ db, auth, url: scratch.url, close });
    },
  ]);
} else {
  console.log("app hook SQL: real-Postgres variant skipped (DATABASE_URL is not set)");
}

/** Helpers over one installed app database. */
function appHelpers(app: AppDatabase) {
  const signUp = async () => {
    const id = randomUUID();
    await app.auth.query("insert into auth.users (id, email) values ($1, $2)", [id, `${id}@example.com`]);
    return id;
  };
  /** A user the app knows: signed up, with a public.users row at 0 points. */
  const newUser = async () => {
    const id = await signUp();
    await app.db.query("insert into public.users (id, email) values ($1, $2)", [id, `${id}@example.com`]);
    return id;
  };
  const createOrder = async (user: string) => {
    const { rows } = await app.db.query<{ id: string }>(
      "select payguard.create_order(p_user_id => $1, p_package_id => 'credits_100', p_provider => 'stripe', p_now => $2) ->> 'id' as id",
      [user, T0],
    );
    return rows[0]?.id as string;
  };
  const pay = (orderId: string) => asServiceRole(app.db, PAY_SQL, [orderId, `pi_${orderId}`, T0]);
  const pointsOf = async (user: string) =>
    (await app.db.query<{ points: number }>("select points from public.users where id = $1", [user])).rows;
  /** The given users whose app points differ from payguard's balance or ledger sum (should be none). */
  const disagreements = async (users: string[]) =>
    (
      await app.db.query(
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
  /** Nothing of the payment happened: the order is pending, no ledger entry, no balance, no paid event. */
  const untouched = async (orderId: string, user: string) =>
    (
      await app.db.query(
        `select (select status from payguard.payment_orders where id = $1) as status,
                (select count(*)::int from payguard.credit_ledger where order_id = $1) as entries,
                (select count(*)::int from payguard.credit_balances where user_id = $2) as balances,
                (select count(*)::int from payguard.order_events where order_id = $1 and kind = 'paid') as paid_events`,
        [orderId, user],
      )
    ).rows;
  return { signUp, newUser, createOrder, pay, pointsOf, disagreements, untouched };
}

describe.each(backends)(
  "app hook example keeps public.users.points equal to the ledger (%s)",
  (_name, open) => {
    let app: AppDatabase;
    let h: ReturnType<typeof appHelpers>;

    beforeAll(async () => {
      app = await open();
      h = appHelpers(app);
    });
    afterAll(() => app.close());

    it("creates the row of a paying user the app has no row for yet, and adds to it from then on", async () => {
      const user = await h.signUp(); // in auth.users, not yet in public.users
      const first = await h.createOrder(user);
      expect(await h.pay(first)).toMatchObject({ ok: true, result: { outcome: "fulfilled" } });
      const row = await app.db.query("select email, points from public.users where id = $1", [user]);
      expect(row.rows).toEqual([{ email: `${user}@example.com`, points: 100 }]);
      const second = await h.createOrder(user);
      expect(await h.pay(second)).toMatchObject({ ok: true, result: { outcome: "fulfilled" } });
      expect(await h.pay(second)).toMatchObject({ ok: true }); // a redelivery moves nothing
      expect(await h.pointsOf(user)).toEqual([{ points: 200 }]);
      expect(await h.disagreements([user])).toEqual([]);
    });

    it("rolls the settlement back for a user neither the app nor Supabase Auth knows", async () => {
      const stranger = randomUUID();
      const orderId = await h.createOrder(stranger);
      const failed = await h.pay(orderId);
      expect(failed).toMatchObject({ ok: false, code: "P0H01" });
      expect(failed.ok || failed.message).toContain("is not in auth.users");
      expect(await h.untouched(orderId, stranger)).toEqual([
        { status: "pending", entries: 0, balances: 0, paid_events: 0 },
      ]);
      expect(await h.pointsOf(stranger)).toEqual([]);
    });

    it("rolls the whole settlement back when the hook raises, and a retry after the fix credits once", async () => {
      const user = await h.newUser();
      const orderId = await h.createOrder(user);
      await app.db.exec(RAISING_HOOK_SQL);
      try {
        const failed = await h.pay(orderId);
        expect(failed).toMatchObject({ ok: false, code: "P0H01" });
        expect(failed.ok || failed.message).toContain(
          "app hook payguard_app.on_settled failed: the app refuses this change",
        );
        expect(await h.untouched(orderId, user)).toEqual([
          { status: "pending", entries: 0, balances: 0, paid_events: 0 },
        ]);
        expect(await h.pointsOf(user)).toEqual([{ points: 0 }]);
      } finally {
        await app.db.exec(await readFile(HOOK_SQL, "utf8"));
      }
      expect(await h.pay(orderId)).toMatchObject({ ok: true, result: { outcome: "fulfilled" } });
      expect(await h.pointsOf(user)).toEqual([{ points: 100 }]);
      expect(await h.disagreements([user])).toEqual([]);
    });

    it("leaves points and ledger unchanged when the hook refuses a clawback (the app's points would go negative)", async () => {
      const user = await h.newUser();
      const orderId = await h.createOrder(user);
      expect((await h.pay(orderId)).ok).toBe(true);
      await app.db.query("update public.users set points = points - 60 where id = $1", [user]); // spent in the app
      const refund = await asServiceRole(app.db, REFUND_SQL, [orderId, `re_${orderId}`, 1999, T0]);
      expect(refund).toMatchObject({ ok: false, code: "P0H01" }); // points would go below 0: check constraint
      const state = await app.db.query(
        `select u.points, b.credits::int as balance from public.users u join payguard.credit_balances b on b.user_id = u.id where u.id = $1`,
        [user],
      );
      expect(state.rows).toEqual([{ points: 40, balance: 100 }]);
    });
  },
);

describe.skipIf(!base)("app hook example under concurrent deliveries (Postgres)", () => {
  let app: AppDatabase;
  let h: ReturnType<typeof appHelpers>;
  let url: string;
  const settle = (sql: string, params: unknown[]) => onOwnConnection(url, sql, params);

  beforeAll(async () => {
    const [, open] = backends.find(([name]) => name === "Postgres") ?? [];
    if (!open) throw new Error("no Postgres backend");
    app = await open();
    h = appHelpers(app);
    url = app.url as string;
  });
  afterAll(() => app?.close());

  it(`after ${DUPLICATES_PER_PAYMENT} concurrent copies of each payment duplicated partial refunds and failed refunds, every user's points equal the ledger`, async () => {
    const users = await Promise.all(Array.from({ length: USERS }, h.newUser));
    const orders = await Promise.all(
      users.map(async (user) => ({ user, orderId: await h.createOrder(user) })),
    );
    const payments = await Promise.all(
      orders.flatMap(({ orderId }) =>
        Array.from({ length: DUPLICATES_PER_PAYMENT }, () => settle(PAY_SQL, [orderId, `pi_${orderId}`, T0])),
      ),
    );
    expect(payments.every((p) => p.ok)).toBe(true);
    expect(payments.filter((p) => p.ok && p.result.outcome === "fulfilled")).toHaveLength(USERS);
    // Half of the users get a partial refund of about half (delivered twice at once), then the rest of it.
    const refunded = orders.slice(0, USERS / 2);
    const refunds = await Promise.all(
      refunded.flatMap(({ orderId }) => [
        settle(REFUND_SQL, [orderId, `re_a_${orderId}`, 1000, T0]),
        settle(REFUND_SQL, [orderId, `re_a_${orderId}`, 1000, T0]),
        settle(REFUND_SQL, [orderId, `re_b_${orderId}`, 999, T0]),
      ]),
    );
    expect(refunds.every((r) => r.ok)).toBe(true);
    // For a third of those, the second refund then fails at the bank (reported twice at once): its
    // clawback is reversed once, through the same hook.
    const failed = refunded.slice(0, USERS / 6);
    const failures = await Promise.all(
      failed.flatMap(({ orderId }) => [
        settle(FAIL_REFUND_SQL, [`re_b_${orderId}`, T0]),
        settle(FAIL_REFUND_SQL, [`re_b_${orderId}`, T0]),
      ]),
    );
    expect(failures.every((r) => r.ok)).toBe(true);
    expect(await h.disagreements(users)).toEqual([]);
    const points = await app.db.query<{ points: number }>(
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

  it("two payments of a user without a row, each delivered several times at once, make one row holding both", async () => {
    const newcomers = await Promise.all(Array.from({ length: USERS / 2 }, h.signUp));
    const orders = await Promise.all(newcomers.flatMap((user) => [h.createOrder(user), h.createOrder(user)]));
    const payments = await Promise.all(
      orders.flatMap((orderId) =>
        Array.from({ length: DUPLICATES_PER_PAYMENT }, () => settle(PAY_SQL, [orderId, `pi_${orderId}`, T0])),
      ),
    );
    expect(payments.filter((p) => !p.ok)).toEqual([]);
    const rows = await app.db.query<{ n: number; points: number }>(
      "select count(*)::int as n, min(points) as points from public.users where id = any($1::uuid[]) group by id",
      [newcomers],
    );
    expect(rows.rows).toEqual(Array(newcomers.length).fill({ n: 1, points: 200 }));
    expect(await h.disagreements(newcomers)).toEqual([]);
  });
});
