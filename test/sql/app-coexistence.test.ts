import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../dev/migrate.ts";
import { type Database, openPglite, openPostgres } from "../../dev/supabase/database.ts";
import { createScratchDatabase } from "../support/node/scratch-db.ts";

const APP_SQL = new URL("../fixtures/app-schema/incident-app.sql", import.meta.url);
const T0 = "2026-11-22T12:00:00.000Z";
const ANN = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

/** Every catalog fact about objects outside payguard's schemas: the app's view of its database. */
const SNAPSHOT_SQL = `
  with app_ns as (
    select oid, nspname from pg_catalog.pg_namespace
     where nspname not in ('payguard', 'payguard_meta', 'pg_catalog', 'information_schema', 'pg_toast')
       and nspname not like 'pg_temp%' and nspname not like 'pg_toast_temp%'
  )
  select 'namespace' as kind, nspname || ' ' || coalesce(nspacl::text, '') as fact
    from pg_catalog.pg_namespace where oid in (select oid from app_ns)
  union all
  select 'relation', n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
         || ' acl=' || coalesce(c.relacl::text, '')
    from pg_catalog.pg_class c join app_ns n on n.oid = c.relnamespace
  union all
  select 'column', n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid join app_ns n on n.oid = c.relnamespace
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where a.attnum > 0 and not a.attisdropped
  union all
  select 'function', p.oid::regprocedure::text || ' definer=' || p.prosecdef || ' acl=' || coalesce(p.proacl::text, '')
         || ' config=' || coalesce(p.proconfig::text, '') || ' body=' || md5(p.prosrc)
    from pg_catalog.pg_proc p join app_ns n on n.oid = p.pronamespace
  union all
  select 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(c.oid)
    from pg_catalog.pg_constraint c join app_ns n on n.oid = c.connamespace
  union all
  select 'policy', schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text
         || ' ' || coalesce(qual, '')
    from pg_catalog.pg_policies where schemaname <> 'payguard'
  union all
  select 'trigger', tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
    from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid join app_ns n on n.oid = c.relnamespace
   where not t.tgisinternal
  union all
  select 'default_acl', coalesce(defaclnamespace::regnamespace::text, '*') || ' ' || defaclobjtype::text || ' '
         || defaclacl::text
    from pg_catalog.pg_default_acl where defaclnamespace not in (select oid from pg_catalog.pg_namespace where nspname = 'payguard')
  order by 1, 2`;

const DATA_SQL = `
  select (select md5(string_agg(t::text, ',' order by t::text)) from public.users t) as users,
         (select md5(string_agg(t::text, ',' order by t::text)) from public.credit_packages t) as packages,
         (select md5(string_agg(t::text, ',' order by t::text)) from public.payment_orders t) as orders,
         (select md5(string_agg(t::text, ',' order by t::text)) from public.credit_transaction t) as transactions,
         (select md5(string_agg(t::text, ',' order by t::text)) from public.user_credit_balance t) as balances`;

const backends: Array<[string, () => Promise<{ db: Database; drop: () => Promise<void> }>]> = [
  ["PGlite", async () => ({ db: await openPglite(), drop: async () => undefined })],
];
const base = process.env.DATABASE_URL;
if (base) {
  backends.push([
    "Postgres",
    async () => {
      const scratch = await createScratchDatabase(base, "payguard_app");
      return { db: await openPostgres(scratch.url), drop: scratch.drop };
    },
  ]);
} else {
  console.log("app coexistence: real-Postgres variant skipped (DATABASE_URL is not set)");
}

describe.each(backends)("payguard installed into an existing app database (%s)", (_name, open) => {
  let db: Database;
  let drop: () => Promise<void>;
  let catalogBefore: unknown[];
  let dataBefore: unknown[];

  beforeAll(async () => {
    ({ db, drop } = await open());
    await db.exec(await readFile(APP_SQL, "utf8"));
    catalogBefore = (await db.query(SNAPSHOT_SQL)).rows;
    dataBefore = (await db.query(DATA_SQL)).rows;
    await applyMigrations(db);
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  it("leaves every app object, grant, policy, trigger and row exactly as it was", async () => {
    expect(catalogBefore.length).toBeGreaterThan(60);
    expect((await db.query(SNAPSHOT_SQL)).rows).toEqual(catalogBefore);
    expect((await db.query(DATA_SQL)).rows).toEqual(dataBefore);
  });

  it("creates nothing in public and works beside the app's same-named objects", async () => {
    await db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
                   values ('credits_100', '100 credits', 1999, 'USD', 100, true)`);
    const order = await db.transaction(async (tx) => {
      await tx.query("select set_config('role', 'service_role', true)");
      const created = await tx.query<{ o: { id: string } }>(
        "select payguard.create_order(p_user_id => $1, p_package_id => 'credits_100', p_provider => 'stripe', p_now => $2) as o",
        [ANN, T0],
      );
      const id = created.rows[0]?.o.id as string;
      await tx.query(
        `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => 'pi_coexist',
           p_amount_minor => 1999, p_currency => 'USD', p_paid_at => $2, p_source => 'webhook', p_now => $2)`,
        [id, T0],
      );
      return id;
    });
    const mine = await db.query<{ status: string }>("select payguard.get_order($1) ->> 'status' as status", [
      order,
    ]);
    expect(mine.rows).toEqual([{ status: "fulfilled" }]);
    const theirs = await db.query<{ status: string }>("select status from public.get_order('app_order_1')");
    expect(theirs.rows).toEqual([{ status: "paid" }]);
    const points = await db.query<{ points: number }>("select points from public.users where id = $1", [ANN]);
    expect(points.rows).toEqual([{ points: 120 }]);
  });
});
