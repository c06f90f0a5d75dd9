/**
 * Incidents: list, one incident by key (what its console page shows: orders, related incidents, the
 * catalogue's title, runbook and actions in both languages), and the triage actions (acknowledge, mute,
 * resolve), attributed to the caller.
 */
import { Hono } from "hono";
import { z } from "zod";
import { getDeps } from "../../deps.ts";
import { incidentKind, incidentTitle } from "../../incidents/catalogue.ts";
import { triageIncident } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, unavailable, valid } from "../http.ts";
import { INCIDENT_KEY, type IncidentPageData, missingOrderIds } from "../incident-rows.ts";
import { incidentInput, incidentsQuery, muteInput } from "../schemas.ts";

/** Incidents one list answer carries. */
export const INCIDENTS_LIST_MAX = 200;

/** The page's data plus what the catalogue says about its kind, in both languages. */
function incidentAnswer(data: IncidentPageData) {
  const { incident, orders } = data;
  const kind = incidentKind(incident.kind);
  return {
    ...data,
    missing_orders: missingOrderIds(incident.detail, orders),
    title: {
      en: incidentTitle(incident.kind, incident.detail, incident.summary, "en"),
      zh: incidentTitle(incident.kind, incident.detail, incident.summary, "zh"),
    },
    runbook: kind.runbook,
    actions: kind.actions,
  };
}

export const incidentsApi = new Hono<AdminEnv>()
  .get("/", valid("query", incidentsQuery), async (c) => {
    const { status } = c.req.valid("query");
    const list = await getDeps(c.env).admin.incidents(status === "all" ? null : status, INCIDENTS_LIST_MAX);
    if (!list.ok) return unavailable(c, list.error.message);
    return c.json({ incidents: list.value });
  })
  .get("/:key", valid("param", z.object({ key: INCIDENT_KEY })), async (c) => {
    const found = await getDeps(c.env).admin.incident(c.req.valid("param").key);
    if (!found.ok) return unavailable(c, found.error.message);
    if (!found.value) return c.json({ error: "not_found", message: "no incident with this key" }, 404);
    return c.json(incidentAnswer(found.value));
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
