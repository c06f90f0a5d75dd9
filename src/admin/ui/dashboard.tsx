/**
 * The dashboard at /admin: server-rendered pages (Hono JSX, no client script) over the same read models
 * and actions as the admin API. Sign in with a token (src/admin/ui/sign-in-routes.tsx); every page is
 * behind the session check and every form behind the body limit and the session's CSRF token
 * (src/admin/ui/guards.tsx); an unknown path is the dashboard's 404 page.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { JOBS } from "../../ops/jobs.ts";
import { JOB_RUNS_LIST_MAX } from "../api/jobs.ts";
import { type DashboardEnv, pageContext } from "./context.ts";
import { dashboardActions } from "./dashboard-actions.tsx";
import { dashboardFrame, formBodyLimit, problem, requireCsrf, requireSession } from "./guards.tsx";
import { incidentPages } from "./incidents/routes.tsx";
import { moneyActions } from "./orders/money-actions.tsx";
import { orderPages } from "./orders/routes.tsx";
import { overviewPages } from "./overview/routes.tsx";
import { JobsPage } from "./pages/ops.tsx";
import { reportPages } from "./report-routes.tsx";
import { runbookPages } from "./runbook-actions.tsx";
import { settingsPages } from "./settings.tsx";
import { signInPages, signOutPages } from "./sign-in-routes.tsx";
import { userPages } from "./users/routes.tsx";

const admin = (c: { env: Env }) => getDeps(c.env).admin;

const pages = new Hono<DashboardEnv>()
  .use("*", requireSession, formBodyLimit, requireCsrf)
  .route("/", signOutPages)
  .route("/", settingsPages)
  .route("/", overviewPages)
  .route("/", orderPages)
  .route("/", userPages)
  .route("/", incidentPages)
  .get("/jobs", async (c) => {
    const runs = await admin(c).jobRuns(JOB_RUNS_LIST_MAX);
    if (!runs.ok) return problem(c, 503, "unavailable");
    return c.html(<JobsPage ctx={await pageContext(c)} jobs={Object.keys(JOBS)} runs={runs.value} />);
  })
  .route("/", moneyActions)
  .route("/", dashboardActions)
  .route("/", reportPages)
  .route("/", runbookPages);

export const dashboard = new Hono<DashboardEnv>()
  .use("*", dashboardFrame)
  .route("/", signInPages)
  .route("/", pages);
