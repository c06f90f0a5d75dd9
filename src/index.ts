/** Worker entry: the HTTP app, the cron router and the Durable Object classes. */
import { getDeps } from "./deps.ts";
import { createApp } from "./http/app.ts";
import { log } from "./log.ts";
import { JOBS } from "./reconcile/jobs.ts";
import { jobForCron, runJob } from "./reconcile/scheduled.ts";

export { AlertDesk } from "./alerts/alert-desk.ts";
export { OrderGuard } from "./guard/order-guard.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const name = jobForCron(controller.cron);
    if (!name) {
      log("error", "unknown_cron", { cron: controller.cron });
      return;
    }
    // The scheduled time is "now" for the job's decisions; elapsed time is measured on the real clock.
    await runJob(name, JOBS[name], env, getDeps(env), controller.scheduledTime, Date.now);
  },
} satisfies ExportedHandler<Env>;
