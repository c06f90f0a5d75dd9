/**
 * payguard.doctor() itself: which history it reads (payguard's own when `db:migrate` applied the files,
 * else the Supabase CLI's, by version or by name), the expected migration being present even when the
 * app's own migrations are newer, and the grants, exposure and RLS flags it reports. Only service_role may
 * call it.
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
    expect((await doctor("20991231000000_payguard_later")).migrations.expected_applied).toBe(false);
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
      expect(broken.tables.find((table) => table.name === "job_runs")).toMatchObject({
        name: "job_runs",
        rls: false,
      });
    } finally {
      await ledger.db.exec("revoke execute on function payguard.get_order(text) from anon");
      await ledger.db.exec("alter table payguard.job_runs enable row level security");
    }
  });

  it("reads the Supabase CLI's table when the CLI applied payguard's files, beside the app's newer ones", async () => {
    const version = EXPECTED_MIGRATION.slice(0, 14);
    const name = EXPECTED_MIGRATION.slice(15);
    // payguard's own history hidden: this database was migrated the other way.
    await ledger.db.exec(`alter table payguard_meta.applied_migrations rename to hidden_history;
      create schema supabase_migrations;
      create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
      insert into supabase_migrations.schema_migrations (version, name)
        values ('20200101000000', 'app_tables'), ('${version}', '${name}'), ('20301010101010', 'app_later');`);
    try {
      expect((await doctor()).migrations).toEqual({
        table: "supabase_migrations.schema_migrations",
        latest: EXPECTED_MIGRATION,
        expected_applied: true,
      });
      // Copied into the app's history under a new timestamp: found by its name.
      await ledger.db.exec(
        `update supabase_migrations.schema_migrations set version = '20301111111111' where name = '${name}'`,
      );
      expect((await doctor()).migrations).toMatchObject({
        latest: `20301111111111_${name}`,
        expected_applied: true,
      });
      await ledger.db.exec(`delete from supabase_migrations.schema_migrations where name = '${name}'`);
      expect((await doctor()).migrations).toEqual({
        table: "supabase_migrations.schema_migrations",
        latest: null,
        expected_applied: false,
      });
    } finally {
      await ledger.db.exec(`drop schema supabase_migrations cascade;
        alter table payguard_meta.hidden_history rename to applied_migrations;`);
    }
  });

  it("reports each role's privileges on every table and sequence", async () => {
    const facts = await doctor();
    expect(facts.tables.find((table) => table.name === "credit_packages")?.grants).toEqual({
      public: [],
      anon: ["select"],
      authenticated: ["select"],
    });
    expect(facts.tables.find((table) => table.name === "incidents")?.grants).toEqual({
      public: [],
      anon: [],
      authenticated: [],
    });
    expect(facts.sequences.length).toBeGreaterThan(0);
    expect(facts.sequences.every((seq) => Object.values(seq.grants).every((p) => p.length === 0))).toBe(true);
    await ledger.db.exec(`grant insert on payguard.incidents to authenticated;
      grant usage on sequence payguard.admin_actions_id_seq to anon`);
    try {
      const exposed = await doctor();
      expect(exposed.tables.find((table) => table.name === "incidents")?.grants.authenticated).toEqual([
        "insert",
      ]);
      expect(exposed.sequences.find((seq) => seq.name === "admin_actions_id_seq")?.grants.anon).toEqual([
        "usage",
      ]);
    } finally {
      await ledger.db.exec(`revoke insert on payguard.incidents from authenticated;
        revoke usage on sequence payguard.admin_actions_id_seq from anon`);
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
