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

export async function createScratchDatabase(baseUrl: string, prefix: string) {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await onServer(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onServer(baseUrl, `drop database if exists ${name} with (force)`),
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
