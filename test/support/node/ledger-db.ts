/**
 * Databases with the payguard migrations applied, for the SQL suites: PGlite in memory (always) and a
 * fresh, uniquely named database on DATABASE_URL's Supabase-shaped server (when set; dropped afterwards),
 * migrated as the demoted `postgres`. Calls run in a transaction as a given role with JWT claims, exactly
 * as the stand-in runs them.
 */
import { applyMigrations } from "../../../dev/migrate.ts";
import { type Database, openPglite, openPostgres } from "../../../dev/supabase/database.ts";
import { createScratchDatabase } from "./scratch-db.ts";

export type Role = "anon" | "authenticated" | "service_role";

export interface LedgerDb {
  db: Database;
  /** Calls `payguard.<fn>(args)` as `role` and returns its jsonb/scalar result. */
  call<T = unknown>(
    fn: string,
    args: Record<string, unknown>,
    role?: Role,
    claims?: Record<string, unknown>,
  ): Promise<T>;
  /** Runs SQL as `role` in a transaction (for grant and RLS checks). */
  asRole<T = Record<string, unknown>>(
    role: Role,
    sql: string,
    params?: unknown[],
    claims?: Record<string, unknown>,
  ): Promise<T[]>;
  close(): Promise<void>;
}

function wrap(db: Database, cleanup: () => Promise<void>): LedgerDb {
  const asRole = <T>(role: Role, sql: string, params: unknown[] = [], claims: Record<string, unknown> = {}) =>
    db.transaction(async (tx) => {
      await tx.query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", [
        role,
        JSON.stringify({ role, ...claims }),
      ]);
      return (await tx.query<T>(sql, params)).rows;
    });
  return {
    db,
    asRole,
    async call<T>(fn: string, args: Record<string, unknown>, role: Role = "service_role", claims = {}) {
      const names = Object.keys(args);
      const sql = `select payguard.${fn}(${names.map((name, i) => `${name} => $${i + 1}`).join(", ")}) as result`;
      const params = names.map((name) => {
        const value = args[name];
        return value !== null && typeof value === "object" ? JSON.stringify(value) : value;
      });
      const rows = await asRole<{ result: T }>(role, sql, params, claims);
      return rows[0]?.result as T;
    },
    close: cleanup,
  };
}

export async function openPgliteLedger(): Promise<LedgerDb> {
  const db = await openPglite();
  await applyMigrations(db);
  return wrap(db, () => db.close());
}

/**
 * A scratch database on the Supabase-shaped server at `adminUrl`. Migrations and every query of the
 * ledger run as the demoted `postgres` (`url`), as on Supabase; `adminUrl` is the same database as
 * supabase_admin, for a check that needs the superuser.
 */
export async function openPostgresLedger(
  adminUrl: string,
): Promise<LedgerDb & { url: string; adminUrl: string }> {
  const scratch = await createScratchDatabase(adminUrl, "payguard_sql");
  const db = await openPostgres(scratch.ownerUrl).catch(async (error: unknown) => {
    await scratch.drop();
    throw error;
  });
  const ledger = wrap(db, async () => {
    await db.close();
    await scratch.drop();
  });
  await applyMigrations(db).catch(async (error: unknown) => {
    await ledger.close();
    throw error;
  });
  return { ...ledger, url: scratch.ownerUrl, adminUrl: scratch.adminUrl };
}

/** The backends a logic suite runs on: PGlite always, real Postgres when DATABASE_URL is set. */
export function ledgerBackends(suite: string): Array<[string, () => Promise<LedgerDb>]> {
  const backends: Array<[string, () => Promise<LedgerDb>]> = [["PGlite", openPgliteLedger]];
  const base = process.env.DATABASE_URL;
  if (base) backends.push(["Postgres", () => openPostgresLedger(base)]);
  else console.log(`${suite}: real-Postgres variant skipped (DATABASE_URL is not set)`);
  return backends;
}

export const PACKAGE_SQL = `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
  values ('credits_100', '100 credits', 1999, 'USD', 100, true, null),
         ('limited', 'limited edition', 500, 'USD', 10, true, 1)`;

/** Creates a `credits_100` order for `user` and pays it in full; returns both ids. */
export async function paidOrder(ledger: LedgerDb, user: string, now: string) {
  const order = await ledger.call<{ id: string }>("create_order", {
    p_user_id: user,
    p_package_id: "credits_100",
    p_provider: "stripe",
    p_now: now,
  });
  await ledger.call("apply_payment", {
    p_provider: "stripe",
    p_order_id: order.id,
    p_payment_ref: `pi_${order.id}`,
    p_amount_minor: 1999,
    p_currency: "USD",
    p_paid_at: now,
    p_source: "webhook",
    p_now: now,
  });
  return { user, orderId: order.id };
}
