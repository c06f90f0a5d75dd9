/**
 * The overview pages of the dashboard: GET / (the overview: needs attention, the window's figures) and
 * GET /attention/not-credited (the payments behind "paid, not credited"). Mounted by dashboard.tsx
 * behind the session check.
 */
import { Hono } from "hono";
import { getDeps } from "../../../deps.ts";
import { loadOverview, NOT_CREDITED_LIST_MAX } from "../../api/overview.ts";
import { overviewQuery } from "../../schemas.ts";
import { type DashboardEnv, pageContext } from "../context.ts";
import { problem } from "../guards.tsx";
import { type Attention, NOT_CREDITED_PATH } from "./attention.tsx";
import { NotCreditedPage } from "./not-credited.tsx";
import { OverviewPage } from "./page.tsx";

/** The window when the query gives no valid one, in hours. */
const OVERVIEW_HOURS_DEFAULT = 24;

const admin = (c: { env: Env }) => getDeps(c.env).admin;

export const overviewPages = new Hono<DashboardEnv>()
  .get("/", async (c) => {
    const parsed = overviewQuery.safeParse(c.req.query());
    const hours = parsed.success ? parsed.data.hours : OVERVIEW_HOURS_DEFAULT;
    const loaded = await loadOverview(admin(c), hours, Date.now());
    if (!loaded.ok) return problem(c, 503, "unavailable");
    const { overview, attention } = loaded.value;
    return c.html(
      <OverviewPage
        ctx={await pageContext(c)}
        data={overview}
        attention={attention as Attention}
        hours={hours}
      />,
    );
  })
  .get(NOT_CREDITED_PATH.replace(/^\/admin/, ""), async (c) => {
    const rows = await admin(c).paidNotCredited(NOT_CREDITED_LIST_MAX);
    if (!rows.ok) return problem(c, 503, "unavailable");
    return c.html(
      <NotCreditedPage ctx={await pageContext(c)} rows={rows.value} limit={NOT_CREDITED_LIST_MAX} />,
    );
  });
