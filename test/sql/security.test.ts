import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../dev/migrate.ts";
import { openPglite } from "../../dev/supabase/database.ts";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL, paidOrder } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";

describe.each(ledgerBackends("security SQL"))("grants and row-level security on %s", (_name, open) => {
  let ledger: LedgerDb;
  const alice = randomUUID();
  const bob = randomUUID();
  let functions: string[];
  let tables: string[];

  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
    for (const user of [alice, bob]) await paidOrder(ledger, user, T0);
    const fns = await ledger.db.query<{ signature: string }>(
      `select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'payguard' and p.prokind = 'f'`,
    );
    functions = fns.rows.map((r) => r.signature);
    const tbl = await ledger.db.query<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'payguard' and c.relkind = 'r'`,
    );
    tables = tbl.rows.map((r) => r.relname);
  });
  afterAll(() => ledger.close());

  const canExecute = async (role: string, signature: string) => {
    const rows = await ledger.db.query<{ allowed: boolean }>(
      "select has_function_privilege($1, $2, 'execute') as allowed",
      [role, signature],
    );
    return rows.rows[0]?.allowed;
  };

  it("lets neither anon nor authenticated execute any function", async () => {
    expect(functions.length).toBeGreaterThan(20);
    for (const role of ["anon", "authenticated"]) {
      const allowed = [];
      for (const signature of functions) if (await canExecute(role, signature)) allowed.push(signature);
      expect(allowed, role).toEqual([]);
    }
  });

  it("lets service_role execute every public function and none of the internal helpers", async () => {
    for (const signature of functions) {
      const name = signature.replace(/^payguard\./, "");
      const internal = name.startsWith("_") || name === "credit_ledger_is_append_only()";
      expect(await canExecute("service_role", signature), signature).toBe(!internal);
    }
  });

  it("answers 42501 when anon or authenticated call a function", async () => {
    for (const role of ["anon", "authenticated"] as const) {
      await expect(ledger.call("get_order", { p_order_id: "x" }, role, { sub: alice })).rejects.toMatchObject(
        { code: "42501" },
      );
    }
  });

  it("answers 42501 to any direct write, whatever the role", async () => {
    for (const role of ["anon", "authenticated", "service_role"] as const) {
      for (const table of tables) {
        await expect(
          ledger.asRole(role, `delete from payguard.${table}`, [], { sub: alice }),
          `${role} on ${table}`,
        ).rejects.toMatchObject({ code: "42501" });
      }
      await expect(
        ledger.asRole(
          role,
          "insert into payguard.credit_balances (user_id, credits, updated_at) values ($1, 1000000, now())",
          [alice],
        ),
      ).rejects.toMatchObject({ code: "42501" });
    }
  });

  it("shows an authenticated user only their own orders, ledger and balance", async () => {
    for (const table of ["payment_orders", "credit_ledger", "credit_balances"]) {
      const rows = await ledger.asRole<{ user_id: string }>(
        "authenticated",
        `select user_id from payguard.${table}`,
        [],
        {
          sub: alice,
        },
      );
      expect(rows.length, table).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.user_id)), table).toEqual(new Set([alice]));
    }
    await expect(ledger.asRole("anon", "select * from payguard.credit_balances")).rejects.toMatchObject({
      code: "42501",
    });
  });

  it("keeps the ledger append-only even for its owner", async () => {
    await expect(ledger.db.query("update payguard.credit_ledger set credits = 1")).rejects.toMatchObject({
      message: expect.stringContaining("append-only"),
    });
    await expect(ledger.db.query("delete from payguard.credit_ledger")).rejects.toMatchObject({
      message: expect.stringContaining("append-only"),
    });
  });
});

describe("applied next to an existing app (as on a live Supabase project)", () => {
  it("leaves the app's own tables and functions in public with the grants they had", async () => {
    const db = await openPglite();
    try {
      await db.exec(`
        do $$ begin create role anon nologin; exception when duplicate_object then null; end $$;
        create table public.app_profiles (id int primary key);
        grant select on public.app_profiles to anon;
        create function public.app_hello() returns text language sql as $$ select 'hi' $$;
        grant execute on function public.app_hello() to anon;`);
      await applyMigrations(db);
      const { rows } = await db.query<{ can_select: boolean; can_execute: boolean }>(
        `select has_table_privilege('anon', 'public.app_profiles', 'select') as can_select,
                has_function_privilege('anon', 'public.app_hello()', 'execute') as can_execute`,
      );
      expect(rows).toEqual([{ can_select: true, can_execute: true }]);
    } finally {
      await db.close();
    }
  });
});
