/** Incidents: list, and the triage actions (acknowledge, mute, resolve), attributed to the caller. */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { triageIncident } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, unavailable, valid } from "../http.ts";
import { incidentInput, incidentsQuery, muteInput } from "../schemas.ts";

/** Incidents one list answer carries. */
export const INCIDENTS_LIST_MAX = 200;

export const incidentsApi = new Hono<AdminEnv>()
  .get("/", valid("query", incidentsQuery), async (c) => {
    const { status } = c.req.valid("query");
    const list = await getDeps(c.env).admin.incidents(status === "all" ? null : status, INCIDENTS_LIST_MAX);
    if (!list.ok) return unavailable(c, list.error.message);
    return c.json({ incidents: list.value });
  })
  .post("/acknowledge", valid("json", incidentInput), async (c) => {
    const { key, reason } = c.req.valid("json");
    return actionResponse(c, await triageIncident(actionContext(c, reason), key, { kind: "acknowledge" }));
  })
  .post("/mute", valid("json", muteInput), async (c) => {
    const { key, reason, minutes } = c.req.valid("json");
    return actionResponse(c, await triageIncident(actionContext(c, reason), key, { kind: "mute", minutes }));
  })
  .post("/resolve", valid("json", incidentInput), async (c) => {
    const { key, reason } = c.req.valid("json");
    return actionResponse(c, await triageIncident(actionContext(c, reason), key, { kind: "resolve" }));
  });
