/** GET /admin/api/overview?hours=N: the numbers on the dashboard's first page, for the last N hours. */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { type AdminEnv, unavailable, valid } from "../http.ts";
import { overviewQuery } from "../schemas.ts";

/** Points on the overview's time series. */
export const OVERVIEW_BUCKETS = 24;

export const overviewApi = new Hono<AdminEnv>().get("/", valid("query", overviewQuery), async (c) => {
  const { hours } = c.req.valid("query");
  const nowMs = Date.now();
  const admin = getDeps(c.env).admin;
  const overview = await admin.overview(
    nowMs - hours * 3_600_000,
    nowMs,
    Math.ceil((hours * 3600) / OVERVIEW_BUCKETS),
  );
  if (!overview.ok) return unavailable(c, overview.error.message);
  return c.json(overview.value);
});
