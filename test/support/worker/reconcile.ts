/** Helpers for the scheduled-job tests: run a cron like Cloudflare does, make orders due, count provider calls. */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../src/index.ts";
import { BACKFILL_OVERLAP_S } from "../../../src/reconcile/stripe-backfill.ts";
import { sandbox, sql } from "./harness.ts";

export async function runCron(cron: string, scheduledTime = Date.now()): Promise<void> {
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), env);
}

/** The newest job run of `job`: its status and what it reported. */
export async function lastRun(job: string) {
  const [row] = await sql<{ status: string; detail: Record<string, unknown> }>(
    "select status, detail from payguard.job_runs where job = $1 order by id desc limit 1",
    [job],
  );
  return row;
}

/** `count` pending orders of `provider`, due now; `expired` ones are already past their expiry. */
export async function dueOrders(
  provider: "stripe" | "wechatpay",
  count: number,
  options: { expired?: boolean } = {},
): Promise<string[]> {
  const packageId = provider === "stripe" ? "credits_100" : "credits_cny";
  const rows = await sql<{ id: string }>(
    `select (payguard.create_order(gen_random_uuid(), $1, $2, now()))->>'id' as id from generate_series(1, $3)`,
    [packageId, provider, count],
  );
  const ids = rows.map((row) => row.id);
  await sql(
    `update payguard.payment_orders set next_check_at = now() - interval '1 second'
       ${options.expired ? ", expires_at = now() - interval '1 second'" : ""} where id = any($1)`,
    [ids],
  );
  return ids;
}

/** Runs `step` for every item, 20 at a time (sandbox control calls). */
export async function eachOf<T>(items: T[], step: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 20) await Promise.all(items.slice(i, i + 20).map(step));
}

interface Call {
  method: string;
  path: string;
  status: number;
}

/** Sandbox API calls whose path contains `needle` (an order or session id). */
export async function callsFor(needle: string): Promise<Call[]> {
  const { calls } = await sandbox<{ calls: Call[] }>("calls");
  return calls.filter((call) => call.path.includes(needle));
}

export async function callsByOrder(ids: string[]): Promise<Map<string, Call[]>> {
  const { calls } = await sandbox<{ calls: Call[] }>("calls");
  return new Map(ids.map((id) => [id, calls.filter((call) => call.path.includes(`/${id}`))]));
}

/** Purchases in the ledger per order (exactly-once means 1 each). */
export async function purchasesPerOrder(ids: string[]): Promise<number[]> {
  const rows = await sql<{ id: string; n: number }>(
    `select o.id, (select count(*)::int from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase') as n
       from payguard.payment_orders o where o.id = any($1)`,
    [ids],
  );
  return rows.map((row) => row.n);
}

export async function statuses(ids: string[]): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }>(
    "select status, count(*)::int as n from payguard.payment_orders where id = any($1) group by status",
    [ids],
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** Backfill only from now on: events other test files left in the shared sandbox are not this test's. */
export async function startStripeCursorNow(): Promise<void> {
  await sql(
    "select payguard.set_sync_cursor('stripe_events', jsonb_build_object('createdS', $1::bigint), now())",
    [Math.floor(Date.now() / 1000) + BACKFILL_OVERLAP_S],
  );
}
