/**
 * The two databases the stand-in can sit in front of, behind one small interface: PGlite (embedded, a
 * single session, so transactions are queued one after another) or a real Postgres pool.
 */
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { SqlExecutor } from "../migrate.ts";
import { ConnectFailed } from "./rpc.ts";

export interface TxClient {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface Database extends SqlExecutor {
  /** Runs `work` inside one transaction; rolls back when it throws. */
  transaction<T>(work: (tx: TxClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openPglite(dataDir?: string): Promise<Database> {
  const db = await PGlite.create(dataDir);
  let queue: Promise<unknown> = Promise.resolve();
  // PGlite is one session: serialise whole transactions so two callers never interleave statements.
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    exec: (sql) => serialised(() => db.exec(sql)),
    query: <T>(sql: string, params?: unknown[]) =>
      serialised(async () => ({ rows: (await db.query<T>(sql, params)).rows })),
    transaction: (work) =>
      serialised(() =>
        db.transaction((tx) =>
          work({ query: async (sql, params) => ({ rows: (await tx.query(sql, params)).rows as never[] }) }),
        ),
      ),
    close: () => db.close(),
  };
}

/** The server ended the session (a FATAL error) or the socket broke: the connection cannot be reused. */
function connectionBroken(error: unknown): boolean {
  const { severity, code } = error as { severity?: string; code?: string };
  return severity === "FATAL" || severity === "PANIC" || code === undefined || /^E[A-Z]+$/.test(code);
}

export async function openPostgres(connectionString: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: 20 });
  // pool.end() resolves before its idle connections finish closing; a database dropped right after
  // terminates them, which is not an error worth crashing a test run over. Query errors still reject.
  pool.on("connect", (client) => client.on("error", () => undefined));
  // An idle connection the server ended (restart, drop database ... with (force)) is discarded by the
  // pool and replaced on next use; without a listener the event would crash the process.
  pool.on("error", () => undefined);
  return {
    exec: (sql) => pool.query(sql),
    query: async <T>(sql: string, params?: unknown[]) => ({
      rows: (await pool.query(sql, params)).rows as T[],
    }),
    async transaction(work) {
      // No connection at all is not the statement's failure: PostgREST answers it 503 PGRST000.
      const client = await pool.connect().catch((error: unknown) => {
        throw new ConnectFailed(error);
      });
      let broken = false;
      try {
        await client.query("begin");
        const result = await work({
          query: async (sql, params) => ({ rows: (await client.query(sql, params)).rows }),
        });
        await client.query("commit");
        return result;
      } catch (error) {
        broken = connectionBroken(error);
        if (!broken) await client.query("rollback").catch(() => undefined);
        throw error;
      } finally {
        // A connection the server ended (FATAL, e.g. 57P01) or that broke is dropped, not pooled again.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
