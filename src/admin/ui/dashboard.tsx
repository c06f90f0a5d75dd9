/**
 * The dashboard at /admin: server-rendered pages (Hono JSX, no client script) over the same read models
 * and actions as the admin API. Sign in with a token; every form carries the session's CSRF token.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { JOBS } from "../../reconcile/jobs.ts";
import { INCIDENTS_LIST_MAX } from "../api/incidents.ts";
import { JOB_RUNS_LIST_MAX } from "../api/jobs.ts";
import { OVERVIEW_BUCKETS } from "../api/overview.ts";
import { ORDER_ID } from "../http.ts";
import { incidentsQuery, orderSearch, overviewQuery } from "../schemas.ts";
import { adminTokens, identify } from "../tokens.ts";
import {
  type DashboardEnv,
  endSession,
  langFor,
  pageContext,
  requireCsrf,
  requireSession,
  setLang,
  startSession,
} from "./context.ts";
import { dashboardActions } from "./dashboard-actions.tsx";
import { langOf, WORDS } from "./i18n.ts";
import { LoginPage } from "./pages/login.tsx";
import { IncidentsPage, JobsPage } from "./pages/ops.tsx";
import { OrderPage } from "./pages/order.tsx";
import { OrdersPage } from "./pages/orders.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { reportPages } from "./report-routes.tsx";
import { runbookPages } from "./runbook-actions.tsx";
import { signInAllowed } from "./sign-in-limit.ts";

const SAFE_BACK_PATTERN = /^\/admin(\/[A-Za-z0-9_\-/]*)?$/;

const admin = (c: { env: Env }) => getDeps(c.env).admin;

const publicPages = new Hono<DashboardEnv>()
  .get("/login", async (c) =>
    c.html(<LoginPage ctx={await pageContext(c)} failed={c.req.query("failed") === "1"} />),
  )
  .post("/login", async (c) => {
    if (c.req.header("origin") !== new URL(c.req.url).origin) return c.text("cross-origin form refused", 403);
    if (!(await signInAllowed(c.env, c.req.header("cf-connecting-ip")))) {
      return c.text("too many sign-in attempts from this address: wait a minute", 429, {
        "retry-after": "60",
      });
    }
    const body = await c.req.parseBody();
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const actor = await identify(await adminTokens(c.env), token);
    if (!actor) return c.redirect("/admin/login?failed=1", 303);
    await startSession(c, actor);
    return c.redirect("/admin", 303);
  })
  .get("/lang/:lang", (c) => {
    setLang(c, langOf(c.req.param("lang")));
    const back = c.req.query("back") ?? "/admin";
    return c.redirect(SAFE_BACK_PATTERN.test(back) ? back : "/admin", 303);
  });

const pages = new Hono<DashboardEnv>()
  .use("*", requireSession, requireCsrf)
  .post("/logout", (c) => {
    endSession(c);
    return c.redirect("/admin/login", 303);
  })
  .get("/", async (c) => {
    const parsed = overviewQuery.safeParse(c.req.query());
    const hours = parsed.success ? parsed.data.hours : 24;
    const nowMs = Date.now();
    const data = await admin(c).overview(
      nowMs - hours * 3_600_000,
      nowMs,
      Math.ceil((hours * 3600) / OVERVIEW_BUCKETS),
    );
    if (!data.ok) return c.text("temporarily unavailable", 503);
    return c.html(<OverviewPage ctx={await pageContext(c)} data={data.value} hours={hours} />);
  })
  .get("/orders", async (c) => {
    const parsed = orderSearch.safeParse(c.req.query());
    const search = parsed.success ? parsed.data : { limit: 50, offset: 0 };
    const found = await admin(c).searchOrders(search);
    if (!found.ok) return c.text("temporarily unavailable", 503);
    const ctx = await pageContext(c);
    if (!parsed.success)
      ctx.flash = {
        ok: false,
        text: `${WORDS[langFor(c)].failed}: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`,
      };
    return c.html(
      <OrdersPage ctx={ctx} search={search} total={found.value.total} orders={found.value.orders} />,
    );
  })
  .get("/orders/:id", async (c) => {
    const id = ORDER_ID.safeParse(c.req.param("id"));
    if (!id.success) return c.notFound();
    const detail = await admin(c).orderDetail(id.data);
    if (!detail.ok) return c.text("temporarily unavailable", 503);
    if (!detail.value) return c.notFound();
    return c.html(<OrderPage ctx={await pageContext(c)} order={detail.value} />);
  })
  .get("/incidents", async (c) => {
    const status = incidentsQuery.safeParse(c.req.query()).data?.status ?? "open";
    const list = await admin(c).incidents(status === "all" ? null : status, INCIDENTS_LIST_MAX);
    if (!list.ok) return c.text("temporarily unavailable", 503);
    return c.html(<IncidentsPage ctx={await pageContext(c)} incidents={list.value} status={status} />);
  })
  .get("/jobs", async (c) => {
    const runs = await admin(c).jobRuns(JOB_RUNS_LIST_MAX);
    if (!runs.ok) return c.text("temporarily unavailable", 503);
    return c.html(<JobsPage ctx={await pageContext(c)} jobs={Object.keys(JOBS)} runs={runs.value} />);
  })
  .route("/", dashboardActions)
  .route("/", reportPages)
  .route("/", runbookPages);

export const dashboard = new Hono<DashboardEnv>().route("/", publicPages).route("/", pages);
