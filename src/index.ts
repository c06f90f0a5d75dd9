/** Worker entry: the HTTP app, the cron router, the reconcile queue consumer and the Durable Object classes. */
import { getDeps } from "./deps.ts";
import { createApp } from "./http/app.ts";
import { secured } from "./http/security-headers.ts";
import { log } from "./log.ts";
import { isReconcileMessage } from "./reconcile/fanout.ts";
import { JOBS } from "./reconcile/jobs.ts";
import { jobForCron, runJob } from "./reconcile/scheduled.ts";

export { AdminSessions } from "./admin/session-store.ts";
export { AlertDesk } from "./alerts/alert-desk.ts";
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
    // The scheduled time is "now" for the job's decisions; elapsed time is measured on the real clock.
    await runJob(name, JOBS[name], env, getDeps(env), controller.scheduledTime, Date.now);
  },
  /** Reconcile fan-out: each message checks another share of the due orders (src/reconcile/fanout.ts). */
  async queue(batch, env) {
    const deps = getDeps(env);
    for (const message of batch.messages) {
      if (!isReconcileMessage(message.body)) {
        log("error", "unknown_queue_message", { queue: batch.queue });
        message.ack();
        continue;
      }
      // A share that failed is not retried by the queue: its orders stay due for the next tick.
      await runJob("reconcile_fanout", JOBS.reconcile_fanout, env, deps, Date.now(), Date.now);
      message.ack();
    }
  },
} satisfies ExportedHandler<Env>;
