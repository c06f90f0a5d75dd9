/**
 * Runbook actions: repair from provider references, batch replay of the inbox, and the sales switch.
 * Each POST needs a reason and is recorded as one admin action; the repairs and replays take `dryRun`.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { type AdminEnv, actionContext, actionResponse, unavailable, valid } from "../http.ts";
import { repairFromRefs } from "../repair-refs.ts";
import { replayInboxEvents } from "../replay-events.ts";
import { repairRefsInput, replayInput, salesSwitchInput } from "../runbook-schemas.ts";
import { setSalesPause } from "../sales-pause.ts";

export const repairApi = new Hono<AdminEnv>().post("/", valid("json", repairRefsInput), async (c) => {
  const { reason, refs, dryRun } = c.req.valid("json");
  const repaired = await repairFromRefs(actionContext(c, reason), refs, dryRun);
  return repaired.ok ? c.json(repaired.value) : unavailable(c, repaired.detail);
});

export const replayApi = new Hono<AdminEnv>().post("/", valid("json", replayInput), async (c) => {
  const { reason, dryRun, ...filter } = c.req.valid("json");
  const replayed = await replayInboxEvents(actionContext(c, reason), filter, dryRun);
  return replayed.ok ? c.json(replayed.value) : unavailable(c, replayed.detail);
});

export const salesApi = new Hono<AdminEnv>()
  .get("/", async (c) => {
    const paused = await getDeps(c.env).runbook.salesPauses();
    return paused.ok ? c.json({ paused: paused.value }) : unavailable(c, paused.error.message);
  })
  .post("/pause", valid("json", salesSwitchInput), async (c) => {
    const { reason, scope } = c.req.valid("json");
    return actionResponse(c, await setSalesPause(actionContext(c, reason), scope, true));
  })
  .post("/resume", valid("json", salesSwitchInput), async (c) => {
    const { reason, scope } = c.req.valid("json");
    return actionResponse(c, await setSalesPause(actionContext(c, reason), scope, false));
  });
