/**
 * Applies supabase/migrations/*.sql in file-name order, once each, recording what ran in
 * `payguard_meta.applied_migrations`. Used by the local Supabase stand-in, the SQL tests and
 * the bench harness; production applies the same files with the Supabase CLI.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** The two calls the runner needs; both PGlite and a `pg` client fit behind it. */
export interface SqlExecutor {
  exec(sql: string): Promise<unknown>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export const MIGRATIONS_DIR = new URL("../supabase/migrations/", import.meta.url).pathname;

const TRACKING_SQL = `
  create schema if not exists payguard_meta;
  create table if not exists payguard_meta.applied_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
  );`;

/** Returns the names of the migrations applied by this call (empty when all were applied before). */
export async function applyMigrations(db: SqlExecutor, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  await db.exec(TRACKING_SQL);
  const done = await db.query<{ name: string }>("select name from payguard_meta.applied_migrations");
  const applied = new Set(done.rows.map((row) => row.name));
  const files = (await readdir(dir)).filter((name) => name.endsWith(".sql")).sort();
  const ran: string[] = [];
  for (const name of files) {
    if (applied.has(name)) continue;
    const sql = await readFile(join(dir, name), "utf8");
    // One transaction per file: a failing migration leaves nothing half-applied and is not recorded.
    await db
      .exec(
        `begin;\n${sql}\n;insert into payguard_meta.applied_migrations (name) values ('${name.replaceAll("'", "''")}');\ncommit;`,
      )
      .catch(async (error: unknown) => {
        await db.exec("rollback").catch(() => undefined);
        throw new Error(`migration ${name} failed: ${(error as Error).message}`);
      });
    ran.push(name);
  }
  return ran;
}
