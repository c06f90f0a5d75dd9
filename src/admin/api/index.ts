/** The admin API: bearer token first, then one router per resource. */
import { Hono } from "hono";
import { type AdminEnv, adminOnError } from "../http.ts";
import { requireBearer } from "./bearer.ts";
import { incidentsApi } from "./incidents.ts";
import { jobsApi } from "./jobs.ts";
import { opsApi } from "./ops.ts";
import { ordersApi } from "./orders.ts";
import { overviewApi } from "./overview.ts";
import { repairApi, replayApi, salesApi } from "./runbook.ts";
import { stripeEventsApi } from "./stripe-events.ts";
import { usersApi } from "./users.ts";

export const adminApi = new Hono<AdminEnv>()
  .use("*", requireBearer)
  .route("/overview", overviewApi)
  .route("/orders", ordersApi)
  .route("/users", usersApi)
  .route("/incidents", incidentsApi)
  .route("/jobs", jobsApi)
  .route("/stripe/events", stripeEventsApi)
  .route("/", opsApi)
  .route("/repair", repairApi)
  .route("/inbox/replay", replayApi)
  .route("/sales", salesApi)
  .onError(adminOnError);
