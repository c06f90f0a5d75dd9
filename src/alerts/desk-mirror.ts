/**
 * The database mirror of the desk's incidents (the `incidents` table the dashboard reads). Each write is
 * journalled in the desk's SQLite first and applied in order; one the database could not take stays
 * queued and the desk's alarm retries it, so the mirror is never lost, only late.
 */
import type { LedgerStore } from "../ledger/ports.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err, ok } from "../ledger/result.ts";
import { log } from "../log.ts";
import type { MirrorOp, MirrorRow } from "./desk-tables.ts";

export const MIRROR_RETRY_BASE_MS = 15_000;
export const MIRROR_RETRY_MAX_MS = 10 * 60_000;
/** Journal entries applied per drain, so one alarm never runs unbounded. */
const MIRROR_OPS_PER_DRAIN_MAX = 200;

export type MirrorAnswer = { found: boolean };

export function journal(sql: SqlStorage, op: MirrorOp, nowMs: number): number {
  return sql
    .exec<{ id: number }>(
      "insert into mirror (op, args, attempts, next_at) values (?, ?, 0, ?) returning id",
      op.op,
      JSON.stringify(op),
      nowMs,
    )
    .one().id;
}

async function apply(store: LedgerStore, op: MirrorOp): Promise<Result<MirrorAnswer, InfraError>> {
  if (op.op === "open") {
    const opened = await store.openIncident({ ...op.incident, nowMs: op.nowMs });
    return opened.ok ? ok({ found: true }) : opened;
  }
  if (op.op === "resolve") {
    const resolved = await store.resolveIncident({ key: op.key, nowMs: op.nowMs });
    return resolved.ok ? ok({ found: resolved.value.resolved }) : resolved;
  }
  if (op.op === "acknowledge") return store.acknowledgeIncident(op);
  return store.muteIncident(op);
}

export const mirrorBackoffMs = (attempts: number): number =>
  Math.min(MIRROR_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), MIRROR_RETRY_MAX_MS);

/**
 * Applies journalled writes in order, stopping at the first failure that may pass (transient, or the Data
 * API refusing payguard until someone fixes it). A permanent refusal is logged and dropped (it would block
 * every later write). Answers what each applied entry returned.
 */
export async function drain(
  sql: SqlStorage,
  store: LedgerStore,
  nowMs: number,
): Promise<Map<number, Result<MirrorAnswer, InfraError>>> {
  const answers = new Map<number, Result<MirrorAnswer, InfraError>>();
  const rows = sql
    .exec<MirrorRow>("select * from mirror order by id limit ?", MIRROR_OPS_PER_DRAIN_MAX)
    .toArray();
  for (const row of rows) {
    const result = await apply(store, JSON.parse(row.args) as MirrorOp);
    answers.set(row.id, result);
    if (result.ok || result.error.kind === "permanent") {
      sql.exec("delete from mirror where id = ?", row.id);
      if (!result.ok) log("error", "incident_mirror_refused", { op: row.op, code: result.error.code });
      continue;
    }
    sql.exec(
      "update mirror set attempts = attempts + 1, next_at = ? where id = ?",
      nowMs + mirrorBackoffMs(row.attempts + 1),
      row.id,
    );
    log("warn", "incident_mirror_deferred", { op: row.op, code: result.error.code });
    break;
  }
  return answers;
}

export function mirrorDueAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("select min(next_at) as at from mirror").one().at ?? null;
}

export function mirrorBacklog(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("select count(*) as n from mirror").one().n;
}

/** The answer for one journalled write after a drain: not reached yet counts as the database being down. */
export function answerFor(
  answers: Map<number, Result<MirrorAnswer, InfraError> | undefined>,
  id: number,
): Result<MirrorAnswer, InfraError> {
  return (
    answers.get(id) ??
    err({
      kind: "transient",
      code: "mirror_pending",
      message: "incident stored in the desk; database mirror queued",
    })
  );
}
