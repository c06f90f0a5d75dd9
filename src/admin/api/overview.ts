/**
 * GET /admin/api/overview?hours=N: the numbers on the dashboard's first page for the last N hours, and
 * `attention`, what needs a person now whatever the window (docs/schema.md, "Needs attention").
 * GET /admin/api/overview/not-credited: the payments behind "paid, not credited", oldest first.
 * The dashboard's overview pages read through `loadOverview` too, so both show the same figures.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import type { InfraError, Result } from "../../ledger/result.ts";
import { ok } from "../../ledger/result.ts";
import { type AdminEnv, unavailable, valid } from "../http.ts";
import { INBOX_STUCK_AFTER_MS } from "../replay-events.ts";
import { overviewQuery } from "../schemas.ts";
import type { AdminStore, Row } from "../store.ts";

/** Points on the overview's time series. */
export const OVERVIEW_BUCKETS = 24;
/** Rows the "paid, not credited" list shows. */
export const NOT_CREDITED_LIST_MAX = 200;

export interface OverviewData {
  overview: Row;
  attention: Row;
}

/** The window's figures and the band's, read at once. */
export async function loadOverview(
  admin: AdminStore,
  hours: number,
  nowMs: number,
): Promise<Result<OverviewData, InfraError>> {
  const [overview, attention] = await Promise.all([
    admin.overview(nowMs - hours * 3_600_000, nowMs, Math.ceil((hours * 3600) / OVERVIEW_BUCKETS)),
    admin.attention(nowMs - INBOX_STUCK_AFTER_MS),
  ]);
  if (!overview.ok) return overview;
  if (!attention.ok) return attention;
  return ok({ overview: overview.value, attention: attention.value });
}

export const overviewApi = new Hono<AdminEnv>()
  .get("/", valid("query", overviewQuery), async (c) => {
    const { hours } = c.req.valid("query");
    const loaded = await loadOverview(getDeps(c.env).admin, hours, Date.now());
    if (!loaded.ok) return unavailable(c, loaded.error.message);
    return c.json({ ...loaded.value.overview, attention: loaded.value.attention });
  })
  .get("/not-credited", async (c) => {
    const rows = await getDeps(c.env).admin.paidNotCredited(NOT_CREDITED_LIST_MAX);
    if (!rows.ok) return unavailable(c, rows.error.message);
    return c.json({ payments: rows.value });
  });
