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
    await runJob(name, JOBS[name], getDeps(env), Date.now);
  },
} satisfies ExportedHandler<Env>;
