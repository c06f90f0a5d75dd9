/**
 * The Supabase-shaped cluster: a database made by createSupabaseDatabase behaves, for the demoted `postgres`
 * that migrations run as, the way a fresh Supabase project does; the machine's stock server is refused.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSupabaseDatabase, type SupabaseCluster, startSupabaseCluster } from "./cluster.ts";

/** The machine's own PostgreSQL, whose `postgres` is the bootstrap superuser. */
const STOCK_SERVER_URL = "postgres://postgres@127.0.0.1:5432/test";
const INSUFFICIENT_PRIVILEGE = "42501";
/** The Supabase CLI's history table (supabase/cli pkg/migration/history.go). */
const CLI_HISTORY_SQL = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
  alter table supabase_migrations.schema_migrations add column if not exists statements text[];
  alter table supabase_migrations.schema_migrations add column if not exists name text;`;

describe("a Supabase-shaped cluster", () => {
  let cluster: SupabaseCluster;
  let database: Awaited<ReturnType<typeof createSupabaseDatabase>>;
  let owner: pg.Client;

  beforeAll(async () => {
    cluster = await startSupabaseCluster();
    database = await createSupabaseDatabase(cluster.adminUrl, "project_shape");
    owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await database?.drop();
    await cluster?.stop();
  });

  it("hands out the demoted postgres for migrations", async () => {
    expect(cluster.adminUrl).toBe(`postgres://supabase_admin@127.0.0.1:${cluster.port}/postgres`);
    const { rows } = await owner.query(
      `select current_user as me, r.rolsuper, r.rolcreaterole, r.rolbypassrls,
              (select datdba::regrole::text from pg_database where datname = current_database()) as db_owner
         from pg_roles r where r.rolname = current_user`,
    );
    expect(rows).toEqual([
      { me: "postgres", rolsuper: false, rolcreaterole: true, rolbypassrls: true, db_owner: "postgres" },
    ]);
  });

  it("refuses what only a superuser may do, as Supabase does", async () => {
    await expect(owner.query("create role x bypassrls")).rejects.toMatchObject({
      code: INSUFFICIENT_PRIVILEGE,
    });
    await expect(owner.query("create role y superuser")).rejects.toMatchObject({
      code: INSUFFICIENT_PRIVILEGE,
    });
  });

  it("has auth.uid(), auth.role() and auth.jwt() reading the request's JWT claims", async () => {
    const sub = randomUUID();
    await owner.query("begin");
    try {
      await owner.query("select set_config('request.jwt.claims', $1, true)", [
        JSON.stringify({ sub, role: "authenticated" }),
      ]);
      await owner.query("set local role authenticated");
      const { rows } = await owner.query(
        "select auth.uid() as uid, auth.role() as role, auth.jwt() ->> 'sub' as jwt",
      );
      expect(rows).toEqual([{ uid: sub, role: "authenticated", jwt: sub }]);
    } finally {
      await owner.query("rollback");
    }
    const { rows } = await owner.query("select auth.uid() as uid");
    expect(rows).toEqual([{ uid: null }]);
  });

  it("lets postgres create the Supabase CLI's history table, owned by postgres", async () => {
    await owner.query(CLI_HISTORY_SQL);
    const { rows } = await owner.query(
      `select c.relowner::regrole::text as owner,
              array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) order by a.attnum) as columns
         from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0
        where c.oid = 'supabase_migrations.schema_migrations'::regclass group by c.relowner`,
    );
    expect(rows).toEqual([
      { owner: "postgres", columns: ["version text", "statements text[]", "name text"] },
    ]);
  });

  it("gives the API roles what Supabase's default privileges in public give them", async () => {
    await owner.query("create function public.shape_probe() returns int language sql as 'select 1'");
    await owner.query("create table public.shape_table (id int)");
    const { rows } = await owner.query(
      `select has_function_privilege('anon', 'public.shape_probe()', 'execute') as anon_execute,
              has_table_privilege('authenticated', 'public.shape_table', 'select, insert') as authenticated_rw,
              has_schema_privilege('anon', 'public', 'usage') as anon_usage,
              has_schema_privilege('anon', 'public', 'create') as anon_create,
              has_schema_privilege('postgres', 'auth', 'create') as postgres_creates_in_auth,
              (select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto') as pgcrypto`,
    );
    expect(rows).toEqual([
      {
        anon_execute: true,
        authenticated_rw: true,
        anon_usage: true,
        anon_create: false,
        postgres_creates_in_auth: false,
        pgcrypto: "extensions",
      },
    ]);
  });

  it("refuses a server that is not Supabase-shaped, and says how to get one", async () => {
    await expect(createSupabaseDatabase(STOCK_SERVER_URL, "never_created")).rejects.toThrow(
      /not Supabase-shaped \(role postgres is a superuser there; role supabase_admin is missing.*npm run db:cluster/,
    );
  });
});
