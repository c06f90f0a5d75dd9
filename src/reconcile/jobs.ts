/**
 * The scheduled jobs: reconcile every 5 minutes (and its queue fan-out), callback health plus ledger audit
 * hourly, and the daily WeChat Pay bill check.
 */
import { auditLedger } from "./audit.ts";
import { runFanoutShare } from "./fanout.ts";
import { checkCallbackHealth } from "./health.ts";
import { runReconcile } from "./reconcile.ts";
import type { Job, JobName } from "./scheduled.ts";
import { checkWechatBill } from "./wechat-bill.ts";

const healthAndAudit: Job = async (_env, deps, nowMs) => {
  const health = await checkCallbackHealth(deps, nowMs);
  const audit = await auditLedger(deps, nowMs);
  const partial = Object.keys(health.unchecked).length > 0;
  return { status: partial ? "partial" : "ok", detail: { health, audit } };
};

export const JOBS: Record<JobName, Job> = {
  reconcile: (env, deps, nowMs) => runReconcile(env, deps, nowMs),
  reconcile_fanout: (env, deps, nowMs) => runFanoutShare(env, deps, nowMs),
  health_audit: healthAndAudit,
  wechat_bill: async (env, deps, nowMs) => {
    const detail = await checkWechatBill(
      env,
      deps,
      { fetch: (input, init) => fetch(input, init), clock: Date.now },
      nowMs,
    );
    return { status: Number(detail.refunds_failed_transiently ?? 0) > 0 ? "partial" : "ok", detail };
  },
};
