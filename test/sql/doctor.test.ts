/**
 * payguard.doctor() itself: which tracking table it reads (the Supabase CLI's wins over the local runner's),
 * the expected version being present even when the app's own migrations are newer, and the grants and RLS
 * flags it reports. Only service_role may call it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPECTED_MIGRATION } from "../../src/ops/expected-schema.ts";
import type { DoctorFacts } from "../../src/ops/store.ts";
import { type LedgerDb, ledgerBackends } from "../support/node/ledger-db.ts";

describe.each(ledgerBackends("doctor SQL"))("payguard.doctor() on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(() => ledger.close());

  const doctor = (expected = EXPECTED_MIGRATION) =>
    ledger.call<DoctorFacts>("doctor", { p_expected_migration: expected });

  it("reads the local runner's table, and reports every function's grants and every table's RLS", async () => {
    const facts = await doctor();
    expect(facts.migrations).toEqual({
      table: "payguard_meta.applied_migrations",
      latest: EXPECTED_MIGRATION,
      expected_applied: true,
    });
    expect((await doctor("20991231000000")).migrations.expected_applied).toBe(false);
    const getOrder = facts.functions.find((fn) => fn.name === "get_order");
    expect(getOrder).toMatchObject({ internal: false, service_role: true, public: false, anon: false });
    const helper = facts.functions.find((fn) => fn.name === "_flag");
    expect(helper).toMatchObject({ internal: true, service_role: false, authenticated: false });
    expect(facts.tables.length).toBeGreaterThan(10);
    expect(facts.tables.every((table) => table.rls)).toBe(true);
    expect(facts.app_hook).toEqual({ defined: false, callable: false });

    await ledger.db.exec("grant execute on function payguard.get_order(text) to anon");
    await ledger.db.exec("alter table payguard.job_runs disable row level security");
    try {
      const broken = await doctor();
      expect(broken.functions.find((fn) => fn.name === "get_order")).toMatchObject({ anon: true });
      expect(broken.tables.find((table) => table.name === "job_runs")).toEqual({
        name: "job_runs",
        rls: false,
      });
    } finally {
      await ledger.db.exec("revoke execute on function payguard.get_order(text) from anon");
      await ledger.db.exec("alter table payguard.job_runs enable row level security");
    }
  });

  it("prefers the Supabase CLI's table, where the app's newer migrations sit beside payguard's", async () => {
    await ledger.db.exec(`create schema supabase_migrations;
      create table supabase_migrations.schema_migrations (version text primary key);
      insert into supabase_migrations.schema_migrations values ('${EXPECTED_MIGRATION}'), ('20301010101010');`);
    try {
      expect((await doctor()).migrations).toEqual({
        table: "supabase_migrations.schema_migrations",
        latest: "20301010101010",
        expected_applied: true,
      });
      await ledger.db.exec(
        `delete from supabase_migrations.schema_migrations where version = '${EXPECTED_MIGRATION}'`,
      );
      expect((await doctor()).migrations.expected_applied).toBe(false);
    } finally {
      await ledger.db.exec("drop schema supabase_migrations cascade");
    }
  });

  it("sees the app hook once it is defined", async () => {
    await ledger.db.exec(`create schema payguard_app;
      create function payguard_app.on_settled(change jsonb) returns void language sql as 'select null';`);
    try {
      expect((await doctor()).app_hook).toEqual({ defined: true, callable: true });
    } finally {
      await ledger.db.exec("drop schema payguard_app cascade");
    }
  });

  it("answers service_role only", async () => {
    await expect(
      ledger.call("doctor", { p_expected_migration: EXPECTED_MIGRATION }, "authenticated"),
    ).rejects.toThrow(/permission denied/);
    await expect(ledger.call("doctor", { p_expected_migration: EXPECTED_MIGRATION }, "anon")).rejects.toThrow(
      /permission denied/,
    );
  });
});
