/**
 * Operations on demand: run the installation doctor now (attributed, answers its findings), and read a
 * week's report (the console's report page shows the same figures).
 */
import { Hono } from "hono";
import { z } from "zod";
import { getDeps } from "../../deps.ts";
import { JOBS } from "../../ops/jobs.ts";
import { lastFullWeek, type ReportWeek, weekStarting } from "../../ops/weekly-report.ts";
import { runJob } from "../../reconcile/scheduled.ts";
import { type ActionContext, type ActionResult, perform } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, unavailable, valid } from "../http.ts";
import { reasonOnly } from "../schemas.ts";

export const reportQuery = z.object({
  week: z.preprocess((value) => (value === "" ? undefined : value), z.iso.date().optional()),
});

/** Runs the doctor as a recorded job run and answers what it found. */
export function runDoctorNow(ctx: ActionContext): Promise<ActionResult> {
  return perform(ctx, { action: "run_doctor", target: "installation" }, async () => {
    let detail: Record<string, unknown> | null = null;
    const status = await runJob(
      "doctor",
      async (env, deps, nowMs) => {
        const outcome = await JOBS.doctor(env, deps, nowMs);
        detail = outcome.detail;
        return outcome;
      },
      ctx.env,
      ctx.deps,
      ctx.nowMs,
      Date.now,
    );
    return detail
      ? { ok: true, outcome: status, detail }
      : { ok: false, error: { kind: "unavailable", detail: "the doctor could not run" } };
  });
}

/** The week asked for (a local Monday), or the last full week; null for a date that is not a Monday. */
export function reportWeek(week: string | undefined, timeZone: string, nowMs: number): ReportWeek | null {
  return week ? weekStarting(week, timeZone) : lastFullWeek(nowMs, timeZone);
}

export const opsApi = new Hono<AdminEnv>()
  .post("/doctor", valid("json", reasonOnly), async (c) =>
    actionResponse(c, await runDoctorNow(actionContext(c, c.req.valid("json").reason))),
  )
  .get("/report", valid("query", reportQuery), async (c) => {
    const deps = getDeps(c.env);
    const timeZone = deps.config.ops.reportTimeZone;
    const week = reportWeek(c.req.valid("query").week, timeZone, Date.now());
    if (!week) return c.json({ error: "bad_request", message: `week must be a Monday in ${timeZone}` }, 400);
    const figures = await deps.ops.weeklyReport(week.fromMs, week.toMs);
    if (!figures.ok) return unavailable(c, figures.error.message);
    return c.json({ week: week.weekStart, time_zone: timeZone, figures: figures.value });
  });
