/**
 * Hourly ledger audit: one incident per finding (`audit:<kind>:<subject>`), resolved once a check of its
 * subject no longer finds it. No call reads the whole ledger, so its cost does not grow with history: each
 * run checks the current-state findings (`audit_current`), the subjects changed since the last run
 * (`audit_changes`, in batches) and its share of a full pass over every user, order and refund failure
 * spread over the day (`audit_slice`), every call bounded by a named size. Two findings are repaired here
 * because the repair is provably right (`repairFor`); everything else waits for an operator.
 */
import type { Deps } from "../deps.ts";
import { deliverIncidents } from "../ledger/incident-outbox.ts";
import {
  type AuditFinding,
  type AuditSliceStep,
  type AuditStep,
  auditIncidentKey,
  type IncidentInput,
} from "../ledger/ports.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import type { Provider } from "../ledger/types.ts";
import { syncIncidents } from "./incidents.ts";

export const AUDIT_PREFIX = "audit:";
const HOUR_MS = 3_600_000;
/** Change rows one `audit_changes` call reads. */
export const AUDIT_CHANGES_PER_CALL = 5_000;
/** Keys (users, orders or refund failures) one `audit_slice` call checks. */
export const AUDIT_SLICE_KEYS = 10_000;
/** A full pass ends within this long after it starts: inside a day, with room for a few failed runs. */
export const AUDIT_FULL_PASS_MS = 20 * HOUR_MS;
/** How often the audit runs (CRON_HEALTH_AUDIT). */
const AUDIT_RUN_INTERVAL_MS = HOUR_MS;

export interface AuditLimits {
  changesPerCall: number;
  sliceKeys: number;
  /** `audit_changes` calls per run; a bigger backlog is worked through by the next runs. */
  changeCallsMax: number;
  /** `audit_slice` calls per run, also when a pass is behind and catching up. */
  sliceCallsMax: number;
  /** Wall time of the audit's calls in one run (every call is cut at SUPABASE_CALL_TIMEOUT_MS). */
  wallMsMax: number;
}

export const DEFAULT_AUDIT_LIMITS: AuditLimits = {
  changesPerCall: AUDIT_CHANGES_PER_CALL,
  sliceKeys: AUDIT_SLICE_KEYS,
  changeCallsMax: 60,
  sliceCallsMax: 60,
  wallMsMax: 120_000,
};

const CRITICAL_KINDS = new Set([
  "balance_mismatch",
  "fulfilled_without_grant",
  "grant_without_fulfilled_order",
  "held_payment",
  "refund_failure_unapplied",
]);

export function incidentFor(finding: AuditFinding): IncidentInput {
  return {
    key: auditIncidentKey(finding.kind, finding.subject),
    kind: `audit_${finding.kind}`,
    severity: CRITICAL_KINDS.has(finding.kind) ? "critical" : "warning",
    summary: `Ledger audit: ${finding.kind.replaceAll("_", " ")} (${finding.subject})`,
    detail: { ...finding.detail, subject: finding.subject },
  };
}

/**
 * Full-pass slices still due in this run: the pass's share of its estimated slices by the end of this run
 * (so it ends within AUDIT_FULL_PASS_MS), less those done. A pass past its time catches up as far as the
 * run's limits allow.
 */
export function slicesDue(pass: AuditSliceStep["pass"], nowMs: number): number {
  const elapsedMs = Math.max(0, nowMs - pass.startedAtMs) + AUDIT_RUN_INTERVAL_MS;
  if (elapsedMs > AUDIT_FULL_PASS_MS) return Number.POSITIVE_INFINITY;
  return Math.max(0, Math.ceil((pass.estimatedSlices * elapsedMs) / AUDIT_FULL_PASS_MS) - pass.slices);
}

/** The subjects a repaired finding's kind names, re-checked after the repair. */
const RECHECK_AS = { fulfilled_without_grant: "orders", refund_failure_unapplied: "refunds" } as const;

/**
 * The findings the audit repairs itself, because the repair is what the recorded facts already imply: the
 * grant of a fulfilled order, and a refund failure recorded beside a refund still counted.
 */
function repairFor(deps: Deps, finding: AuditFinding, nowMs: number) {
  switch (finding.kind) {
    case "fulfilled_without_grant":
      return deps.store.repairMissingGrant({ orderId: finding.subject, nowMs });
    case "refund_failure_unapplied": {
      const [provider, ...ref] = finding.subject.split(":");
      return deps.store.repairRefundFailure({
        provider: provider as Provider,
        refundRef: ref.join(":"),
        nowMs,
      });
    }
    default:
      return null;
  }
}

function unwrap<T>(fn: string, result: Result<T, InfraError>): T {
  if (!result.ok) throw new Error(`${fn}: ${result.error.message}`);
  return result.value;
}

/** One run's calls: each call's findings are raised and its clean checked incidents resolved at once. */
function auditRun(deps: Deps, nowMs: number, limits: AuditLimits, clock: () => number) {
  const startedMs = clock();
  const found = new Map<string, AuditFinding>();
  return {
    found,
    outOfTime: () => clock() - startedMs >= limits.wallMsMax,
    async record(step: AuditStep) {
      // Raise first, so even a repaired finding leaves its (resolved) incident as the record of the repair.
      await syncIncidents(deps, AUDIT_PREFIX, step.findings.map(incidentFor), nowMs, {
        openKeys: step.checked,
      });
      for (const finding of step.findings)
        found.set(auditIncidentKey(finding.kind, finding.subject), finding);
    },
  };
}
type AuditRun = ReturnType<typeof auditRun>;

/** Works through the change window until a window opened in this run is closed, or the limits stop it. */
async function checkChanges(deps: Deps, run: AuditRun, nowMs: number, limits: AuditLimits) {
  let calls = 0;
  let rows = 0;
  let opened = false;
  let more = true;
  while ((more || !opened) && calls < limits.changeCallsMax && !run.outOfTime()) {
    const step = unwrap(
      "audit_changes",
      await deps.store.auditChanges({ nowMs, limit: limits.changesPerCall }),
    );
    calls += 1;
    rows += step.changes;
    opened ||= step.opened;
    more = step.more;
    await run.record(step);
  }
  return { calls, rows, caught_up: opened && !more };
}

/** This run's share of the full pass: at least one slice, then as many as are due, never past the end of a pass. */
async function checkSlices(deps: Deps, run: AuditRun, nowMs: number, limits: AuditLimits) {
  let calls = 0;
  let due = 1;
  let last: AuditSliceStep | null = null;
  while (calls < due && calls < limits.sliceCallsMax && !run.outOfTime()) {
    last = unwrap("audit_slice", await deps.store.auditSlice({ nowMs, limit: limits.sliceKeys }));
    calls += 1;
    await run.record(last);
    if (last.pass.finished) break;
    due = calls + slicesDue(last.pass, nowMs);
  }
  return { calls, stage: last?.stage ?? null, ...last?.pass };
}

/** Repairs what `repairFor` knows how to, then checks the repaired subjects again. */
async function repairFindings(deps: Deps, run: AuditRun, nowMs: number): Promise<number> {
  const recheck = { users: [] as string[], orders: [] as string[], refunds: [] as string[] };
  for (const finding of run.found.values()) {
    const repair = repairFor(deps, finding, nowMs);
    if (!repair) continue;
    const result = await repair;
    if (!result.ok) throw new Error(`repair ${finding.subject}: ${result.error.message}`);
    if (result.value.outcome === "noop") continue;
    recheck[RECHECK_AS[finding.kind as keyof typeof RECHECK_AS]].push(finding.subject);
    await deliverIncidents(result.value.incidents, nowMs, deps);
  }
  const repaired = recheck.orders.length + recheck.refunds.length;
  if (repaired > 0) await run.record(unwrap("audit_subjects", await deps.store.auditSubjects(recheck)));
  return repaired;
}

export async function auditLedger(
  deps: Deps,
  nowMs: number,
  limits: AuditLimits = DEFAULT_AUDIT_LIMITS,
  clock: () => number = Date.now,
) {
  const run = auditRun(deps, nowMs, limits, clock);
  await run.record(unwrap("audit_current", await deps.store.auditCurrent({ nowMs })));
  const changes = await checkChanges(deps, run, nowMs, limits);
  const pass = await checkSlices(deps, run, nowMs, limits);
  const findings = [...run.found.values()];
  const repaired = await repairFindings(deps, run, nowMs);
  return {
    findings: findings.length,
    repaired,
    kinds: [...new Set(findings.map((f) => f.kind))],
    calls: 1 + changes.calls + pass.calls + (repaired > 0 ? 1 : 0),
    changes,
    pass,
    out_of_time: run.outOfTime(),
  };
}
