/** A uniquely named database on a real Postgres server for one suite, dropped afterwards. */
import { randomBytes } from "node:crypto";
import pg from "pg";

async function onServer(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** How long a drop waits for the suite's own connections, closed just before, to leave the server. */
const CLOSING_WAIT_MS = 3_000;
const CLOSING_POLL_MS = 50;

/**
 * A pool's `end()` resolves before its sockets have closed; dropping the database `with (force)` at that
 * moment sends those closing clients a FATAL 57P01 that nobody listens for any more. So the drop waits
 * until the server no longer lists a session on the database (force still ends a straggler).
 */
async function dropWhenIdle(baseUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + CLOSING_WAIT_MS;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1",
        [name],
      );
      if ((rows[0]?.n ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, CLOSING_POLL_MS));
    }
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

export async function createScratchDatabase(baseUrl: string, prefix: string) {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await onServer(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropWhenIdle(baseUrl, name),
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
