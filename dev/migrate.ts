/**
 * Applies supabase/migrations/*.sql in file-name order, once each, recording what ran (with the file's
 * sha256) in payguard's own history table `payguard_meta.applied_migrations`, so an app's Supabase CLI
 * history (`supabase_migrations.schema_migrations`) is never touched. Used by `npm run db:migrate`, the
 * local Supabase stand-in, the SQL tests and the bench harness. Run it as the project's `postgres` role
 * (on Supabase a non-superuser), never as a superuser: that is how the migrations must work.
 *
 * Released migrations are forward-only: a file that was applied and has changed since is refused, naming
 * it, instead of being skipped in silence.
 *
 *   npm run db:migrate -- --db-url "$SUPABASE_DB_URL"
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

/** The two calls the runner needs; both PGlite and a `pg` client fit behind it. */
export interface SqlExecutor {
  exec(sql: string): Promise<unknown>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export const MIGRATIONS_DIR = new URL("../supabase/migrations/", import.meta.url).pathname;

/** Two `db:migrate` runs at once take turns (a session lock: the CLI holds one connection). */
const MIGRATION_LOCK_SQL = "select pg_advisory_lock(hashtext('payguard_migrations'))";

const TRACKING_SQL = `
  create schema if not exists payguard_meta;
  create table if not exists payguard_meta.applied_migrations (
    name text primary key,
    applied_at timestamptz not null default now(),
    sha256 text
  );
  alter table payguard_meta.applied_migrations add column if not exists sha256 text;
  alter table payguard_meta.applied_migrations enable row level security;
  revoke all on schema payguard_meta from public;
  revoke all on payguard_meta.applied_migrations from public;`;

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Returns the names of the migrations applied by this call (empty when all were applied before). */
export async function applyMigrations(db: SqlExecutor, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  await db.exec(TRACKING_SQL);
  const done = await db.query<{ name: string; sha256: string | null }>(
    "select name, sha256 from payguard_meta.applied_migrations",
  );
  const applied = new Map(done.rows.map((row) => [row.name, row.sha256]));
  const files = (await readdir(dir)).filter((name) => name.endsWith(".sql")).sort();
  const ran: string[] = [];
  for (const name of files) {
    const sql = await readFile(join(dir, name), "utf8");
    const checksum = sha256Hex(sql);
    if (applied.has(name)) {
      const recorded = applied.get(name);
      if (recorded && recorded !== checksum)
        throw new Error(`migration ${name} was applied and has changed since: add a new migration instead`);
      continue;
    }
    // One transaction per file: a failing migration leaves nothing half-applied and is not recorded.
    await db
      .exec(
        `begin;\n${sql}\n;insert into payguard_meta.applied_migrations (name, sha256) values (${quote(name)}, ${quote(checksum)});\ncommit;`,
      )
      .catch(async (error: unknown) => {
        await db.exec("rollback").catch(() => undefined);
        throw new Error(`migration ${name} failed: ${(error as Error).message}`);
      });
    ran.push(name);
  }
  return ran;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "db-url": { type: "string" } } });
  const url = values["db-url"] ?? process.env.SUPABASE_DB_URL;
  if (!url) {
    console.error(
      'usage: npm run db:migrate -- --db-url "postgres://postgres:<password>@<host>:5432/postgres"',
    );
    process.exit(2);
  }
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; superuser: boolean }>(
      "select current_user as role, rolsuper as superuser from pg_catalog.pg_roles where rolname = current_user",
    );
    const who = rows[0];
    if (who?.superuser)
      console.warn(
        `warning: connected as superuser ${who.role}; on Supabase migrations run as the non-superuser postgres`,
      );
    await client.query(MIGRATION_LOCK_SQL);
    const ran = await applyMigrations({
      exec: (sql) => client.query(sql),
      query: async <T>(sql: string, params?: unknown[]) => ({
        rows: (await client.query(sql, params)).rows as T[],
      }),
    });
    console.log(ran.length === 0 ? "payguard migrations: up to date" : `applied: ${ran.join(", ")}`);
  } finally {
    await client.end();
  }
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
