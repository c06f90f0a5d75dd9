/**
 * `npm run bench:audit [-- --scale S] [--hour-orders N]`: the hourly ledger audit on a large merchant's
 * database. On a scratch database of the Supabase-shaped Postgres in DATABASE_URL it generates, in SQL,
 * 10 M ledger rows, 3 M orders and 1 M users (× S), consistent but for findings planted in the history and
 * in the last hour (N orders settled through the settlement functions). Then the worker's audit code
 * (src/reconcile/audit.ts through the real store adapter, supabase-js and the local stand-in) runs hour
 * after hour: the first run's calls and their times, then the runs until one full pass is done (its slices
 * and their times). Last, the old whole-ledger `audit_ledger` on the same data, capped by a statement
 * timeout. Every planted finding must be found, else the run fails. Writes bench/results/audit.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createClient } from "@supabase/supabase-js";
import pg from "pg";
import { applyMigrations } from "../dev/migrate.ts";
import { openPostgres } from "../dev/supabase/database.ts";
import { startStandIn } from "../dev/supabase/standin.ts";
import { createSupabaseLedgerStore } from "../src/db/ledger-store.ts";
import { SUPABASE_CALL_TIMEOUT_MS } from "../src/db/rpc.ts";
import type { Deps } from "../src/deps.ts";
import type { LedgerStore } from "../src/ledger/ports.ts";
import { auditLedger, DEFAULT_AUDIT_LIMITS } from "../src/reconcile/audit.ts";
import { createScratchDatabase } from "../test/support/node/scratch-db.ts";
import { tableAlerts } from "../test/support/node/table-alerts.ts";
import {
  type AuditDataSize,
  generateHistory,
  generateLastHour,
  type PlantedFinding,
} from "./lib/audit-data.ts";
import { machineInfo } from "./lib/machine.ts";
import { percentile } from "./lib/measure.ts";

const FULL_SIZE: AuditDataSize = { users: 1_000_000, orders: 3_000_000, ledgerRows: 10_000_000 };
const HOUR_ORDERS_DEFAULT = 5_000;
const HOUR_MS = 3_600_000;
/** Hourly runs allowed for one full pass (it is paced to end within 20). */
const PASS_RUNS_MAX = 30;
/** The old whole-ledger audit is stopped after this long. */
const OLD_AUDIT_TIMEOUT_S = 120;
/** The whole run stops itself after this long, whatever the scale. */
const RUN_TIME_MAX_MS = 60 * 60_000;

interface CallTime {
  fn: string;
  ms: number;
}

/** Every `audit*` call of the store, timed as the worker sees it (HTTP to the stand-in included). */
function timedStore(store: LedgerStore, calls: CallTime[]): LedgerStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const method = Reflect.get(target, name, receiver);
      if (typeof name !== "string" || !name.startsWith("audit") || typeof method !== "function")
        return method;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await method.apply(target, args);
        } finally {
          calls.push({ fn: name, ms: performance.now() - started });
        }
      };
    },
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function byFunction(calls: CallTime[]) {
  const groups = new Map<string, number[]>();
  for (const call of calls) groups.set(call.fn, [...(groups.get(call.fn) ?? []), call.ms]);
  return [...groups].map(([fn, times]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return {
      fn,
      calls: times.length,
      p50_ms: round(percentile(sorted, 50)),
      max_ms: round(sorted.at(-1) ?? 0),
      total_ms: round(times.reduce((sum, ms) => sum + ms, 0)),
    };
  });
}

async function oldAudit(url: string, nowMs: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`set statement_timeout = '${OLD_AUDIT_TIMEOUT_S}s'`);
    const started = performance.now();
    const { rows } = await client.query<{ n: number }>(
      "select jsonb_array_length(payguard.audit_ledger($1)) as n",
      [new Date(nowMs).toISOString()],
    );
    return { finished: true, ms: round(performance.now() - started), findings: rows[0]?.n ?? 0 };
  } catch (error) {
    if ((error as { code?: string }).code !== "57014") throw error;
    return { finished: false, ms: null, note: `did not finish in ${OLD_AUDIT_TIMEOUT_S} s` };
  } finally {
    await client.end();
  }
}

async function openKeys(pool: pg.Pool, planted: PlantedFinding[]) {
  const { rows } = await pool.query<{ key: string }>(
    "select distinct key from payguard.incidents where key = any($1)",
    [planted.map((p) => p.key)],
  );
  return new Set(rows.map((row) => row.key));
}

async function main() {
  const { values } = parseArgs({ options: { scale: { type: "string" }, "hour-orders": { type: "string" } } });
  const scale = Number(values.scale ?? 1);
  const hourOrders = Number(values["hour-orders"] ?? HOUR_ORDERS_DEFAULT);
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl || !(scale > 0) || !(hourOrders > 1)) {
    console.error(
      "usage: DATABASE_URL=<Supabase-shaped admin URL> npm run bench:audit -- [--scale S] [--hour-orders N]",
    );
    process.exit(2);
  }
  const size: AuditDataSize = {
    users: Math.round(FULL_SIZE.users * scale),
    orders: Math.round(FULL_SIZE.orders * scale),
    ledgerRows: Math.round(FULL_SIZE.ledgerRows * scale),
  };
  const stopTimer = setTimeout(() => {
    console.error(`bench: stopped after ${RUN_TIME_MAX_MS / 60_000} min (RUN_TIME_MAX_MS)`);
    process.exit(2);
  }, RUN_TIME_MAX_MS);
  const scratch = await createScratchDatabase(adminUrl, "payguard_bench_audit");
  const owner = new pg.Client({ connectionString: scratch.ownerUrl });
  const pool = new pg.Pool({ connectionString: scratch.ownerUrl, max: 4 });
  pool.on("error", () => undefined);
  let standIn: Awaited<ReturnType<typeof startStandIn>> | null = null;
  try {
    const migrator = await openPostgres(scratch.ownerUrl);
    await applyMigrations(migrator);
    await migrator.close();
    await owner.connect();
    const postgres = (await owner.query<{ version: string }>("select version()")).rows[0]?.version ?? null;
    let nowMs = Date.now();
    console.log(`generating ${size.ledgerRows} ledger rows, ${size.orders} orders, ${size.users} users`);
    const generation = performance.now();
    const planted = await generateHistory(owner, size, nowMs - HOUR_MS);
    planted.push(...(await generateLastHour(pool, size, hourOrders, nowMs - HOUR_MS / 2)));
    const generationS = Math.round((performance.now() - generation) / 1000);
    const databaseSize = (
      await owner.query<{ size: string }>(
        "select pg_size_pretty(pg_database_size(current_database())) as size",
      )
    ).rows[0]?.size;
    console.log(`generated in ${generationS} s (${databaseSize})`);

    standIn = await startStandIn({
      databaseUrl: scratch.ownerUrl,
      jwtSecret: "bench-audit-secret-0123456789abcdef",
    });
    const client = createClient(standIn.url, standIn.secretKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      db: { schema: "payguard" },
    });
    const calls: CallTime[] = [];
    const store = createSupabaseLedgerStore(client);
    const deps = { store: timedStore(store, calls), alerts: tableAlerts(store) } as unknown as Deps;

    const first = await auditLedger(deps, nowMs);
    const firstCalls = calls.splice(0);
    const hourly = { detail: first, calls: byFunction(firstCalls), calls_per_run: firstCalls.length };
    console.log("\nthe hourly run after the last hour's traffic:");
    console.table(hourly.calls);
    const afterFirst = await openKeys(pool, planted);

    const passCalls: CallTime[] = [];
    const runs: Array<{ run: number; calls: number; slices: number; ms: number }> = [];
    let finished = first.pass.finished === true;
    for (let run = 2; !finished && run <= PASS_RUNS_MAX; run += 1) {
      nowMs += HOUR_MS;
      const detail = await auditLedger(deps, nowMs);
      const runCalls = calls.splice(0);
      passCalls.push(...runCalls.filter((c) => c.fn === "auditSlice"));
      runs.push({
        run,
        calls: runCalls.length,
        slices: detail.pass.calls,
        ms: round(runCalls.reduce((sum, c) => sum + c.ms, 0)),
      });
      finished = detail.pass.finished === true;
    }
    const slices = [...firstCalls.filter((c) => c.fn === "auditSlice"), ...passCalls];
    const fullPass = {
      finished,
      hourly_runs: runs.length + 1,
      slice_calls: slices.length,
      slice_ms_total: round(slices.reduce((sum, c) => sum + c.ms, 0)),
      slices: byFunction(slices)[0] ?? null,
      runs,
    };
    console.log(
      `\none full pass: ${fullPass.slice_calls} slices over ${fullPass.hourly_runs} hourly runs, ${Math.round(fullPass.slice_ms_total / 1000)} s of calls`,
    );
    console.table([fullPass.slices]);
    const afterPass = await openKeys(pool, planted);

    console.log(`\nthe old audit_ledger (statement timeout ${OLD_AUDIT_TIMEOUT_S} s)…`);
    const old = await oldAudit(scratch.ownerUrl, nowMs);
    console.log(old.finished ? `  ${Math.round((old.ms ?? 0) / 100) / 10} s` : `  ${old.note}`);

    const findings = planted.map((p) => ({
      ...p,
      found: p.where === "last_hour" ? afterFirst.has(p.key) : afterPass.has(p.key),
    }));
    const missing = findings.filter((f) => !f.found);
    const allCalls = [...firstCalls, ...passCalls];
    const maxCallMs = Math.max(...allCalls.map((c) => c.ms));
    await mkdir("bench/results", { recursive: true });
    await writeFile(
      "bench/results/audit.json",
      `${JSON.stringify(
        {
          machine: machineInfo(postgres),
          scale,
          size: { ...size, last_hour_orders: hourOrders, database: databaseSize, generation_s: generationS },
          limits: DEFAULT_AUDIT_LIMITS,
          call_timeout_ms: SUPABASE_CALL_TIMEOUT_MS,
          max_call_ms: round(maxCallMs),
          hourly,
          full_pass: fullPass,
          old_audit_ledger: old,
          planted: findings,
        },
        null,
        2,
      )}\n`,
    );
    console.log(
      `\nslowest audit call: ${round(maxCallMs)} ms (the worker cuts a call at ${SUPABASE_CALL_TIMEOUT_MS} ms)`,
    );
    if (!finished) console.error(`the full pass did not finish in ${PASS_RUNS_MAX} hourly runs`);
    for (const f of missing) console.error(`planted finding not found: ${f.key} (${f.where})`);
    if (missing.length > 0 || !finished) process.exitCode = 1;
    else console.log("every planted finding was found; bench/results/audit.json written");
  } finally {
    clearTimeout(stopTimer);
    await standIn?.close();
    await owner.end().catch(() => undefined);
    await pool.end();
    await scratch.drop();
  }
}

await main();
