/**
 * The dashboard's buttons: each POST runs the same action as the admin API, attributed to the signed-in
 * operator, then redirects back with the outcome. Refund, repair and fulfilling a review move money or
 * credits, so they first show a confirmation page and only act when it is submitted with confirm=yes.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import {
  type ActionResult,
  expire,
  refund,
  repair,
  replayStripeEvent,
  resolveReview,
  runJobNow,
  syncOrder,
  syncOrders,
  triageIncident,
} from "../actions.ts";
import { actionContext, ORDER_ID } from "../http.ts";
import {
  incidentInput,
  jobParam,
  muteInput,
  reasonOnly,
  refundInput,
  repairInput,
  resolveReviewInput,
  syncMany,
} from "../schemas.ts";
import { confirmFirst } from "./confirm-first.tsx";
import { backWith, type DashboardEnv, pageContext } from "./context.ts";
import { validForm } from "./forms.ts";

const orderBack = (c: Context) => `/admin/orders/${ORDER_ID.safeParse(c.req.param("id")).data ?? ""}`;
const incidentsBack = () => "/admin/incidents";
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

const orderId = (c: Context) => ORDER_ID.parse(c.req.param("id"));

export const dashboardActions = new Hono<DashboardEnv>()
  .post(
    "/orders/sync",
    validForm(syncMany, () => "/admin/orders"),
    async (c) => {
      const { reason, ...filter } = c.req.valid("form");
      const synced = await syncOrders(actionContext(c, reason), filter);
      if (!synced.ok) return backWith(c, "/admin/orders", { ok: false, message: synced.error.detail });
      const fulfilled = synced.results.filter((r) => r.outcome === "fulfilled").length;
      return backWith(c, "/admin/orders", {
        ok: true,
        outcome: `${synced.results.length} synced, ${fulfilled} fulfilled`,
      });
    },
  )
  .post("/orders/:id/sync", validForm(reasonOnly, orderBack), async (c) =>
    back(c, orderBack(c), await syncOrder(actionContext(c, c.req.valid("form").reason), orderId(c))),
  )
  .post("/orders/:id/expire", validForm(reasonOnly, orderBack), async (c) =>
    back(c, orderBack(c), await expire(actionContext(c, c.req.valid("form").reason), orderId(c))),
  )
  .post("/orders/:id/refund", validForm(refundInput, orderBack), async (c) => {
    const { reason, amount_minor } = c.req.valid("form");
    const fields = { reason, amount_minor: amount_minor === undefined ? "" : String(amount_minor) };
    const confirm = await confirmFirst(
      c,
      orderBack(c),
      `refund ${orderId(c)} ${amount_minor ?? "(all that is left)"}`,
      fields,
    );
    return (
      confirm ??
      back(c, orderBack(c), await refund(actionContext(c, reason), orderId(c), amount_minor ?? null))
    );
  })
  .post("/orders/:id/repair", validForm(repairInput, orderBack), async (c) => {
    const { reason, kind } = c.req.valid("form");
    const confirm = await confirmFirst(c, orderBack(c), `repair ${kind} ${orderId(c)}`, { reason, kind });
    return confirm ?? back(c, orderBack(c), await repair(actionContext(c, reason), orderId(c), kind));
  })
  .post("/orders/:id/resolve-review", validForm(resolveReviewInput, orderBack), async (c) => {
    const { reason, resolution } = c.req.valid("form");
    const confirm =
      resolution === "fulfil"
        ? await confirmFirst(c, orderBack(c), `fulfil ${orderId(c)}`, { reason, resolution })
        : null;
    return (
      confirm ?? back(c, orderBack(c), await resolveReview(actionContext(c, reason), orderId(c), resolution))
    );
  })
  .post("/incidents/acknowledge", validForm(incidentInput, incidentsBack), async (c) => {
    const { key, reason } = c.req.valid("form");
    return back(
      c,
      incidentsBack(),
      await triageIncident(actionContext(c, reason), key, { kind: "acknowledge" }),
    );
  })
  .post("/incidents/mute", validForm(muteInput, incidentsBack), async (c) => {
    const { key, reason, minutes } = c.req.valid("form");
    return back(
      c,
      incidentsBack(),
      await triageIncident(actionContext(c, reason), key, { kind: "mute", minutes }),
    );
  })
  .post("/incidents/resolve", validForm(incidentInput, incidentsBack), async (c) => {
    const { key, reason } = c.req.valid("form");
    return back(c, incidentsBack(), await triageIncident(actionContext(c, reason), key, { kind: "resolve" }));
  })
  .post("/jobs/:name/run", validForm(reasonOnly, jobsBack), async (c) => {
    const job = jobParam.safeParse({ name: c.req.param("name") });
    if (!job.success) return backWith(c, jobsBack(), { ok: false, message: "unknown job" });
    return back(c, jobsBack(), await runJobNow(actionContext(c, c.req.valid("form").reason), job.data.name));
  })
  .post("/stripe/events/replay", validForm(replayInput, jobsBack), async (c) => {
    const { reason, event_id } = c.req.valid("form");
    return back(c, jobsBack(), await replayStripeEvent(actionContext(c, reason), event_id));
  });
