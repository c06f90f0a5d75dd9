/**
 * Test-side helpers that run inside workerd: talk to the stand-in and the sandbox over HTTP (their
 * test-only control endpoints) and send requests to the worker under test.
 */
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";

export const BASE_URL = "https://payguard.test";

/** Runs SQL as the database owner through the stand-in's test-only endpoint. */
export async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  const { url, serviceRoleKey } = inject("standIn");
  const response = await fetch(`${url}/__standin/sql`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify({ sql: query, params }),
  });
  if (!response.ok) throw new Error(`stand-in sql failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as T[];
}

export async function setDatabaseDown(down: boolean): Promise<void> {
  const { url, serviceRoleKey } = inject("standIn");
  const response = await fetch(`${url}/__standin/unavailable`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify({ down }),
  });
  if (!response.ok) throw new Error(`stand-in control failed: ${response.status}`);
}

/** RPCs the stand-in has served per function since it started (counts only; see dev/supabase/rpc-stats.ts). */
export async function rpcCalls(): Promise<Record<string, number>> {
  const { url, serviceRoleKey } = inject("standIn");
  const response = await fetch(`${url}/__standin/stats`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: "{}",
  });
  if (!response.ok) throw new Error(`stand-in stats failed: ${response.status}`);
  const stats = (await response.json()) as { byFunction: Record<string, { calls: number }> };
  return Object.fromEntries(Object.entries(stats.byFunction).map(([name, f]) => [name, f.calls]));
}

/** The RPCs served while `work` ran, per function (functions not called are left out). */
export async function rpcCallsDuring(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await rpcCalls();
  await work();
  const after = await rpcCalls();
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, calls]) => [name, calls - (before[name] ?? 0)] as const)
      .filter(([, calls]) => calls > 0),
  );
}

/** Calls a sandbox control endpoint (`/_control/...`) and returns its JSON answer. */
export async function sandbox<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${inject("sandboxUrl")}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`sandbox ${path} failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends a provider delivery to the worker under test, at the path the sandbox addressed it to. */
export function deliver(delivery: Delivery, path: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`${BASE_URL}${path}`, { method: "POST", headers: delivery.headers, body: delivery.body }),
  );
}

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE_URL}${path}`, init));
}

const FIRST_REQUEST_POLLS_MAX = 50;
const FIRST_REQUEST_POLL_MS = 100;

/**
 * Serves this isolate's first request and waits for what it starts in the background (the installation
 * doctor, src/ops/first-request.ts); answers the doctor runs it recorded. Called before a suite's tests,
 * so no test, in whatever order it runs, meets (or counts the calls of) that background run.
 */
export async function serveFirstRequest(): Promise<Array<{ status: string }>> {
  const since = new Date().toISOString();
  const health = await call("/health");
  if (health.status !== 200) throw new Error(`first request answered ${health.status}`);
  let runs: Array<{ status: string }> = [];
  for (let attempt = 0; attempt < FIRST_REQUEST_POLLS_MAX && runs.length === 0; attempt += 1) {
    runs = await sql<{ status: string }>(
      "select status from payguard.job_runs where job = 'doctor' and started_at >= $1 and finished_at is not null",
      [since],
    );
    if (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, FIRST_REQUEST_POLL_MS));
  }
  return runs;
}

/**
 * The statuses of the incident rows of `key` written from now on, oldest first: several suites (and
 * several tests of one suite, in any order) drive the same incident key, so a test looks only at the
 * rows its own checks wrote.
 */
export async function incidentRowsFrom(key: string): Promise<() => Promise<string[]>> {
  const rows = async () =>
    (
      await sql<{ status: string }>("select status from payguard.incidents where key = $1 order by id", [key])
    ).map((row) => row.status);
  const earlier = (await rows()).length;
  return async () => (await rows()).slice(earlier);
}

/**
 * Operator actions recorded with `reason`: other test files write admin actions at the same time, so a
 * "writes nothing" check counts only the rows its own file's reason marks.
 */
export function adminActionsWithReason(reason: string): Promise<Array<{ n: number }>> {
  return sql<{ n: number }>("select count(*)::int as n from payguard.admin_actions where reason = $1", [
    reason,
  ]);
}

export const adminHeaders = (): Record<string, string> => ({ authorization: `Bearer ${env.ADMIN_TOKEN}` });

let packageSeeded = false;

/** A purchasable package every test can use: 19.99 USD for 100 credits. */
export async function seedPackage(): Promise<void> {
  if (packageSeeded) return;
  await sql(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('credits_100', '100 credits', 1999, 'USD', 100, true),
            ('credits_cny', '100 credits (CNY)', 990, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
  packageSeeded = true;
}
