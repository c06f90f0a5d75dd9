/**
 * The dashboard's buttons for jobs: each POST runs the same action as the admin API, attributed to the
 * signed-in operator, then redirects back with the outcome. The order actions (money moves behind a
 * confirmation page) are src/admin/ui/orders/money-actions.tsx; incident triage is
 * src/admin/ui/incidents/routes.tsx.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { type ActionResult, replayStripeEvent, runJobNow } from "../actions.ts";
import { actionContext } from "../http.ts";
import { jobParam, reasonOnly } from "../schemas.ts";
import { backWith, type DashboardEnv } from "./context.ts";
import { validForm } from "./forms.ts";

const jobsBack = () => "/admin/jobs";
const replayInput = reasonOnly.extend({ event_id: z.string().regex(/^evt_[A-Za-z0-9_]{1,200}$/) });

const back = (c: Context, path: string, result: ActionResult) =>
  backWith(
    c,
    path,
    result.ok
      ? { ok: true, outcome: result.outcome }
      : { ok: false, message: `${result.error.kind}: ${result.error.detail}` },
  );

export const dashboardActions = new Hono<DashboardEnv>()
  .post("/jobs/:name/run", validForm(reasonOnly, jobsBack), async (c) => {
    const job = jobParam.safeParse({ name: c.req.param("name") });
    if (!job.success) return backWith(c, jobsBack(), { ok: false, message: "unknown job" });
    return back(c, jobsBack(), await runJobNow(actionContext(c, c.req.valid("form").reason), job.data.name));
  })
  .post("/stripe/events/replay", validForm(replayInput, jobsBack), async (c) => {
    const { reason, event_id } = c.req.valid("form");
    return back(c, jobsBack(), await replayStripeEvent(actionContext(c, reason), event_id));
  });
