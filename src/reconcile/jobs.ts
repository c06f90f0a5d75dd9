/**
 * The scheduled jobs. Reconcile and the health/audit sweep only record their run until their own
 * modules land; the daily bill job compares WeChat's trade bill with our orders.
 */
import type { Job, JobName } from "./scheduled.ts";
import { checkWechatBill } from "./wechat-bill.ts";

const recordOnly: Job = async () => ({ implemented: false });

export const JOBS: Record<JobName, Job> = {
  reconcile: recordOnly,
  health_audit: recordOnly,
  wechat_bill: (deps, nowMs) =>
    checkWechatBill(deps, { fetch: (input, init) => fetch(input, init), clock: Date.now }, nowMs),
};
