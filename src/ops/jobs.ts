/**
 * The scheduled jobs: every 5 minutes the incident outbox drain (what no settlement delivered), reconcile
 * (and its queue fan-out) and the threshold alerts; hourly callback health plus ledger audit, the
 * installation doctor and the weekly report; daily the WeChat Pay bill check. The doctor and the weekly
 * report also run on their own (console, first request). The table lives in ops/ because it runs both
 * ops/ and reconcile/ jobs: ops/ depends on reconcile/, never the other way round.
 */
import { ONE_AT_A_TIME, openProviderBudget } from "../budget/budget.ts";
import { drainIncidentOutbox } from "../ledger/incident-outbox.ts";
import { auditLedger } from "../reconcile/audit.ts";
import { runFanoutShare } from "../reconcile/fanout.ts";
import { checkCallbackHealth } from "../reconcile/health.ts";
import { runReconcile } from "../reconcile/reconcile.ts";
import type { Job, JobName, JobOutcome } from "../reconcile/scheduled.ts";
import { checkWechatBill } from "../reconcile/wechat-bill.ts";
import { runDoctor } from "./doctor.ts";
import { sendWeeklyReport } from "./send-weekly-report.ts";
import { checkThresholds } from "./thresholds.ts";

/** A follow-up step that fails is reported in the job's detail; it never fails the job it follows. */
async function step<T>(run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const failed = (result: object): boolean => "error" in result;

const healthAndAudit: Job = async (env, deps, nowMs) => {
  const health = await checkCallbackHealth(deps, nowMs);
  const audit = await auditLedger(deps, nowMs);
  const doctor = await step(() => runDoctor(deps, nowMs));
  const report = await step(() => sendWeeklyReport(env, deps, nowMs));
  const partial = Object.keys(health.unchecked).length > 0 || failed(doctor) || failed(report);
  return { status: partial ? "partial" : "ok", detail: { health, audit, doctor, report } };
};

/** Orders one reconcile run settled: due orders found paid plus Stripe events it had to backfill. */
function repairedBy(outcome: JobOutcome): number {
  const backfill = outcome.detail.backfill as { applied?: number } | null;
  return Number(outcome.detail.settled ?? 0) + (backfill?.applied ?? 0);
}

/**
 * The outbox drain goes first: it is small (OUTBOX_DRAIN_* fit in what RECONCILE_SUBREQUESTS_PER_TICK_MAX
 * leaves of the platform's cap) and must not wait on, or be skipped by, a reconcile run that fails.
 */
const reconcileAndThresholds: Job = async (env, deps, nowMs) => {
  const outbox = await step(() => drainIncidentOutbox(deps, nowMs));
  const outcome = await runReconcile(env, deps, nowMs);
  const thresholds = await step(async () => {
    const { failing } = await checkThresholds(deps, repairedBy(outcome), nowMs);
    return { failing };
  });
  return { ...outcome, detail: { ...outcome.detail, outbox, thresholds } };
};

export const JOBS: Record<JobName, Job> = {
  reconcile: reconcileAndThresholds,
  reconcile_fanout: (env, deps, nowMs) => runFanoutShare(env, deps, nowMs),
  health_audit: healthAndAudit,
  doctor: async (_env, deps, nowMs) => {
    const report = await runDoctor(deps, nowMs);
    return { status: report.unchecked ? "partial" : "ok", detail: { ...report } };
  },
  weekly_report: async (env, deps, nowMs) => ({
    status: "ok",
    detail: { ...(await sendWeeklyReport(env, deps, nowMs)) },
  }),
  wechat_bill: async (env, deps, nowMs) => {
    const providers = openProviderBudget(deps, ONE_AT_A_TIME);
    const detail = await checkWechatBill(
      env,
      deps,
      { fetch: providers.fetch("wechatpay"), clock: Date.now },
      nowMs,
    );
    const partial = Number(detail.refunds_failed_transiently ?? 0) > 0;
    return { status: partial ? "partial" : "ok", detail: { ...detail, calls: providers.stats() } };
  },
};
