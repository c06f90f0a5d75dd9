/**
 * Routes each cron expression to its job and records every run in `job_runs`, so the dashboard can show
 * when reconciliation last ran and whether it failed. Crons are at-least-once and may overlap: every job
 * must be safe to run twice at the same time.
 */
import type { Deps } from "../deps.ts";
import type { JobStatus } from "../ledger/ports.ts";
import { log } from "../log.ts";

export const CRON_RECONCILE = "*/5 * * * *";
export const CRON_HEALTH_AUDIT = "0 * * * *";
export const CRON_DAILY_BILL = "30 2 * * *";

export type JobName =
  | "reconcile"
  | "health_audit"
  | "wechat_bill"
  | "reconcile_fanout"
  | "doctor"
  | "weekly_report";
/** `partial`: the job stopped at a budget or skipped a check, and the next run picks up the rest. */
export interface JobOutcome {
  status: "ok" | "partial";
  detail: Record<string, unknown>;
}
export type Job = (env: Env, deps: Deps, nowMs: number) => Promise<JobOutcome>;

const JOB_FOR_CRON: Record<string, JobName> = {
  [CRON_RECONCILE]: "reconcile",
  [CRON_HEALTH_AUDIT]: "health_audit",
  [CRON_DAILY_BILL]: "wechat_bill",
};

export function jobForCron(cron: string): JobName | null {
  return JOB_FOR_CRON[cron] ?? null;
}

export async function runJob(
  name: JobName,
  job: Job,
  env: Env,
  deps: Deps,
  nowMs: number,
  clock: () => number,
): Promise<JobStatus> {
  const startedAtMs = clock();
  let status: JobStatus;
  let detail: Record<string, unknown>;
  try {
    ({ status, detail } = await job(env, deps, nowMs));
  } catch (error) {
    status = "error";
    detail = { error: (error as Error).message };
  }
  const finishedAtMs = clock();
  log(status === "error" ? "error" : "info", "job_finished", {
    job: name,
    status,
    ms: finishedAtMs - startedAtMs,
    ...detail,
  });
  const recorded = await deps.store.recordJobRun({ job: name, startedAtMs, finishedAtMs, status, detail });
  if (!recorded.ok) log("error", "job_run_not_recorded", { job: name, error: recorded.error.message });
  return status;
}
