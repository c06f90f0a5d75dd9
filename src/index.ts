/** Worker entry: the HTTP app, the cron router, the reconcile queue's consumers and the Durable Object classes. */
import { getDeps } from "./deps.ts";
import { createApp } from "./http/app.ts";
import { secured } from "./http/security-headers.ts";
import { log } from "./log.ts";
import { JOBS } from "./ops/jobs.ts";
import { consumeDeadLetters, consumeShares, RECONCILE_DEAD_LETTER_QUEUE } from "./reconcile/queue.ts";
import { jobForCron, runJob } from "./reconcile/scheduled.ts";

export { AdminSessions } from "./admin/session-store.ts";
export { AlertDesk } from "./alerts/alert-desk.ts";
export { ProviderBudget } from "./budget/provider-budget.ts";
export { OrderGuard } from "./guard/order-guard.ts";

const app = createApp();

export default {
  /** Every answer leaves with the security headers (src/http/security-headers.ts). */
  fetch: secured(app.fetch),
  async scheduled(controller, env) {
    const name = jobForCron(controller.cron);
    if (!name) {
      log("error", "unknown_cron", { cron: controller.cron });
      return;
    }
    let deps: ReturnType<typeof getDeps>;
    try {
      deps = getDeps(env);
    } catch (error) {
      // No job run can be written without configuration: the log names the job, the cron shows it failed.
      log("error", "job_not_started", { job: name, error: (error as Error).message });
      throw error;
    }
    // The scheduled time is "now" for the job's decisions; elapsed time is measured on the real clock.
    await runJob(name, JOBS[name], env, deps, controller.scheduledTime, Date.now);
  },
  /** Reconcile fan-out shares, and the shares that failed every attempt (src/reconcile/queue.ts). */
  async queue(batch, env) {
    if (batch.queue === RECONCILE_DEAD_LETTER_QUEUE) await consumeDeadLetters(batch, env);
    else await consumeShares(batch, env);
  },
} satisfies ExportedHandler<Env>;
