/**
 * The scheduled jobs. Reconcile and the health/audit sweep are placeholders that only record their run
 * until their own modules land; the daily bill job compares WeChat's trade bill with our orders.
 */
import type { Job, JobName } from "./scheduled.ts";

const recordOnly: Job = async () => ({ implemented: false });

export const JOBS: Record<JobName, Job> = {
  reconcile: recordOnly,
  health_audit: recordOnly,
  wechat_bill: recordOnly,
};
