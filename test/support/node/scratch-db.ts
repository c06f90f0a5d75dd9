/**
 * A uniquely named database for one suite on the Supabase-shaped server at `adminUrl` (DATABASE_URL:
 * `npm run db:cluster`), prepared like a fresh project and dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createSupabaseDatabase } from "../../../dev/supabase/cluster.ts";

export async function createScratchDatabase(adminUrl: string, prefix: string) {
  const database = await createSupabaseDatabase(adminUrl, `${prefix}_${randomBytes(5).toString("hex")}`);
  return {
    /** As supabase_admin (superuser): for checks a project's own roles could not make. */
    adminUrl: database.adminUrl,
    /** As the demoted postgres: migrations, the app's SQL and the stand-in, as on Supabase. */
    ownerUrl: database.ownerUrl,
    /** The owner URL, for callers that only need one. */
    url: database.ownerUrl,
    drop: database.drop,
  };
}

/** Postgres refuses a connection past `max_connections` (SQLSTATE 53300) while other suites hold many. */
const TOO_MANY_CLIENTS = "53300";
const CONNECT_ATTEMPTS_MAX = 50;
const CONNECT_RETRY_MS = 100;

/**
 * A connected client of its own, for the concurrency suites that open one connection per concurrent
 * caller: when the server is momentarily full (other suites run beside this one) it waits and tries again,
 * so the suites never fail on the machine's connection limit, only on what they assert.
 */
export async function connectPatiently(url: string): Promise<pg.Client> {
  for (let attempt = 1; ; attempt += 1) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if ((error as { code?: string }).code !== TOO_MANY_CLIENTS || attempt >= CONNECT_ATTEMPTS_MAX)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}
