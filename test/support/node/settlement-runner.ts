/**
 * Delivers a settlement scenario's facts to the database and reads the order's final state back, for
 * test/sql/settlement-order.test.ts. Every delivery is one call of one settlement function (or one
 * `settle_event`) in its own transaction, as service_role. PGlite is one session: a case is one
 * multi-statement batch, each fact between its own begin / commit. Real Postgres: a case's deliveries go
 * through several connections at once, each connection taking its share in order, a decision waiting for
 * the fact it follows.
 */
import type pg from "pg";
import type { Database } from "../../../dev/supabase/database.ts";
import {
  type Call,
  type CaseIds,
  callFor,
  createCall,
  observeCall,
  packageCall,
  type Run,
} from "./settlement-calls.ts";
import type { Observed, OutboxRow } from "./settlement-model.ts";
import type { Delivery } from "./settlement-schedule.ts";

/** Deadlocks and serialization failures are transient: the provider would deliver again. */
const TRANSIENT_CODES = new Set(["40P01", "40001"]);
const TRANSIENT_ATTEMPTS_MAX = 5;

const normalise = (ids: CaseIds, text: string) =>
  text.replaceAll(`${ids.orderId}_`, "").replaceAll(ids.orderId, "order");

interface Answer {
  outcome?: string;
  status?: string;
  order?: { status?: string } | null;
  results?: Answer[];
  incidents?: Array<Record<string, unknown>>;
}

/** The outbox rows the deliveries' answers handed over (`incidents` of each answer). */
const answeredRows = (results: unknown[]) => results.flatMap((r) => (r as Answer | null)?.incidents ?? []);

/**
 * The status the order had right after `key` was applied: from the one delivery of it that was not a
 * duplicate (a `settle_event` answer carries it in its first result).
 */
function statusAfter(run: Run, results: unknown[], key: string): string | null {
  for (const [i, d] of run.deliveries.entries()) {
    if (d.fact.key !== key) continue;
    const answer = results[i] as Answer | null;
    const applied = answer?.results ? answer.results[0] : answer;
    if (!applied || answer?.status === "duplicate" || applied.outcome === "duplicate") continue;
    return applied.order?.status ?? null;
  }
  return null;
}

export function observed(run: Run, state: Record<string, unknown>, results: unknown[]): Observed {
  const { ids } = run;
  const row = (r: Record<string, unknown>): OutboxRow => ({
    id: Number(r.id),
    action: r.action as OutboxRow["action"],
    key: normalise(ids, String(r.key)),
    text: normalise(ids, JSON.stringify({ summary: r.summary, detail: r.detail })),
  });
  // What the worker was handed, and what is still in the table (a later row of a key replaces an undelivered
  // earlier one there): together, everything the AlertDesk hears about this order, in order.
  const answered = answeredRows(results)
    .filter((r) => String(r.key).includes(ids.orderId))
    .map(row);
  const table = (state.outbox as Array<Record<string, unknown>>).map(row);
  const answeredIds = new Set(answered.map((r) => r.id));
  const byId = new Map([...answered, ...table].map((r) => [r.id, r]));
  const outbox = [...byId.values()].sort((a, b) => a.id - b.id);
  const last = new Map<string, OutboxRow["action"]>();
  for (const r of outbox) last.set(r.key, r.action);
  const strip = (value: string) => normalise(ids, value);
  return {
    status: String(state.status),
    credits: Number(state.credits),
    orderCredits: Number(state.order_credits),
    balance: Number(state.balance),
    refundedMinor: Number(state.refunded_minor),
    refunds: (state.refunds as Array<[string, string, number]>).map(([r, status, amount]) => [
      strip(r),
      status,
      Number(amount),
    ]),
    payments: (state.payments as Array<[string, string]>).map(([p, role]) => [strip(p), role]),
    held: Number(state.held),
    unitsHeld: Number(state.units_held),
    open: [...last]
      .filter(([, action]) => action === "raise")
      .map(([key]) => key)
      .sort(),
    outbox,
    unanswered: table.filter((r) => !answeredIds.has(r.id)).map((r) => `${r.action} ${r.key}`),
    paidAfterReject: run.scenario.reject && statusAfter(run, results, "p1") === "failed",
  };
}

// ---- PGlite: one batch per case ----------------------------------------------------------------------

const literal = (value: unknown): string => {
  if (value === null || value === undefined) return "null";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return `'${text.replaceAll("'", "''")}'`;
};
const inline = (call: Call) =>
  call.text.replace(/\$(\d+)/g, (_, n: string) => literal(call.params[Number(n) - 1]));

/**
 * Runs each run's deliveries in list order, each in its own transaction, and observes each order, in one
 * round trip. On an error the batch is replayed statement by statement (on fresh ids) to name the fact.
 */
export async function runOnPglite(
  db: Database,
  runs: Run[],
  fresh: (ids: CaseIds) => CaseIds,
): Promise<Observed[]> {
  const statements: string[] = [];
  const tagged: Array<{ run: number; index: number; kind: "result" | "state" }> = [];
  for (const [r, run] of runs.entries()) {
    if (run.scenario.async) statements.push(inline(packageCall(run.ids)));
    statements.push("set role service_role", "begin", inline(createCall(run.ids)), "commit");
    for (const d of run.deliveries) {
      statements.push("begin", inline(callFor(d, run.ids)));
      tagged.push({ run: r, index: statements.length - 1, kind: "result" });
      statements.push("commit");
    }
    statements.push("reset role", inline(observeCall(run.ids)));
    tagged.push({ run: r, index: statements.length - 1, kind: "state" });
  }
  let answers: Array<{ rows: Array<Record<string, unknown>> }>;
  try {
    answers = (await db.exec(`${statements.join(";\n")};`)) as typeof answers;
  } catch (error) {
    await db.exec("rollback; reset role").catch(() => undefined);
    throw await locate(
      db,
      runs.map((run) => ({ ...run, ids: fresh(run.ids) })),
      error,
    );
  }
  return runs.map((run, r) => {
    const mine = tagged.filter((t) => t.run === r);
    const results = mine.filter((t) => t.kind === "result").map((t) => answers[t.index]?.rows[0]?.result);
    const state = mine.find((t) => t.kind === "state");
    return observed(run, answers[state?.index ?? -1]?.rows[0]?.state as Record<string, unknown>, results);
  });
}

async function locate(db: Database, runs: Run[], batchError: unknown): Promise<Error> {
  const inTx = (sql: string) => db.exec(`set role service_role; begin; ${sql}; commit; reset role`);
  for (const run of runs) {
    try {
      if (run.scenario.async) await db.exec(inline(packageCall(run.ids)));
      await inTx(inline(createCall(run.ids)));
    } catch (error) {
      return new Error(`creating the order failed: ${(error as Error).message}`);
    }
    for (const [i, d] of run.deliveries.entries()) {
      try {
        await inTx(inline(callFor(d, run.ids)));
      } catch (error) {
        await db.exec("rollback; reset role").catch(() => undefined);
        return new Error(`delivery #${i} (${deliveryName(d)}) raised ${describeError(error)}`);
      }
    }
  }
  return new Error(`the batch raised ${describeError(batchError)}, its statements one by one did not`);
}

// ---- real Postgres: several connections per case ------------------------------------------------------

export interface PostgresStats {
  /** Transient failures retried, by SQLSTATE and the fact being delivered: a lock order worth a look. */
  transientRetries: Map<string, number>;
  /** The server's detail of the first of each (for a deadlock: who waited for whom, on what). */
  transientDetail: Map<string, string>;
}

async function query(client: pg.Client, call: Call, stats: PostgresStats, what: string): Promise<unknown> {
  const params = call.params.map((v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v));
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.query(call.text, params)).rows[0]?.result ?? null;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      if (!TRANSIENT_CODES.has(code) || attempt >= TRANSIENT_ATTEMPTS_MAX) throw error;
      const key = `${code} ${what}`;
      stats.transientRetries.set(key, (stats.transientRetries.get(key) ?? 0) + 1);
      const { message, detail, where } = error as { message: string; detail?: string; where?: string };
      if (!stats.transientDetail.has(key))
        stats.transientDetail.set(key, [message, detail, where].join("\n"));
    }
  }
}

/**
 * Each lane delivers its share in list order; all lanes at once. A decision waits until the first
 * delivery (in list order) of the fact it follows has returned; that one is earlier in the list, so
 * the lanes never wait on each other in a circle.
 */
export async function deliverConcurrently(
  lanes: pg.Client[],
  run: Run,
  stats: PostgresStats,
): Promise<unknown[]> {
  const { deliveries, ids } = run;
  const first = new Map<string, number>();
  deliveries.forEach((d, i) => {
    if (!first.has(d.fact.key)) first.set(d.fact.key, i);
  });
  const done = deliveries.map(() => deferred());
  const results: unknown[] = new Array(deliveries.length);
  const lane = async (client: pg.Client, laneIndex: number) => {
    for (const [i, d] of deliveries.entries()) {
      if (d.lane % lanes.length !== laneIndex) continue;
      try {
        if (d.fact.after) await done[first.get(d.fact.after) ?? -1]?.promise;
        const via = d.viaEvent ? " via settle_event" : "";
        results[i] = await query(client, callFor(d, ids), stats, `${d.fact.body.kind}${via}`);
        done[i]?.resolve();
      } catch (error) {
        done[i]?.reject(error);
        throw new Error(`delivery #${i} (${deliveryName(d)}) raised ${describeError(error)}`);
      }
    }
  };
  const settled = await Promise.allSettled(lanes.map((client, i) => lane(client, i)));
  const failure = settled.find((s) => s.status === "rejected");
  if (failure) throw failure.reason;
  return results;
}

/** One run: the order created, its facts delivered through the lanes, its state read as the owner. */
export async function runOnPostgres(
  owner: Database,
  lanes: pg.Client[],
  run: Run,
  stats: PostgresStats,
): Promise<Observed> {
  if (run.scenario.async) {
    const pkg = packageCall(run.ids);
    await owner.query(pkg.text, pkg.params);
  }
  const [creator] = lanes;
  if (!creator) throw new Error("no connection to deliver through");
  await query(creator, createCall(run.ids), stats, "create_order");
  const results = await deliverConcurrently(lanes, run, stats);
  const observe = observeCall(run.ids);
  const { rows } = await owner.query<{ state: Record<string, unknown> }>(observe.text, observe.params);
  const state = rows[0]?.state;
  if (!state) throw new Error(`order ${run.ids.orderId} not found`);
  return observed(run, state, results);
}

function deferred() {
  let resolve = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  // Nobody may wait for it (no decision follows the fact): a rejection is reported by its lane.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export function deliveryName(d: Delivery): string {
  const copy = d.copy > 0 ? `#${d.copy + 1}` : "";
  const path = d.viaEvent ? ` via settle_event ${d.eventCopy}` : "";
  return `${d.fact.key}${copy}${path} on lane ${d.lane}`;
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return `${e.code ? `${e.code} ` : ""}${e.message ?? String(error)}`;
}
