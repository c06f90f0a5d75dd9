/**
 * `GET /health`: liveness for uptime checks and for payguard's own hourly check through its public URL.
 * It also says whether alerts are on and how each channel is doing (a channel that refuses its
 * configuration shows `config_error` here until someone fixes the setting), and whether sales are paused.
 */
import { Hono } from "hono";
import { deskStub } from "../alerts/desk-sink.ts";
import { getDeps } from "../deps.ts";
import { loadConfig } from "../env.ts";
import { VERSION } from "../version.ts";

async function alertsHealth(env: Env) {
  try {
    const status = await deskStub(env.ALERT_DESK).status();
    return {
      on: status.enabled,
      channels: Object.fromEntries(
        status.channels.map((channel) => [channel.name, { state: channel.state, detail: channel.detail }]),
      ),
      mirrorBacklog: status.mirrorBacklog,
    };
  } catch {
    return { on: loadConfig(env).alerts.channels.length > 0, channels: {}, desk: "unreachable" };
  }
}

/** Which packages an operator paused (`*` = all); `unknown` when the database cannot say right now. */
async function salesHealth(env: Env) {
  const pauses = await getDeps(env).runbook.salesPauses();
  return pauses.ok
    ? { paused: pauses.value.map((pause) => pause.scope) }
    : { paused: null, state: "unknown" };
}

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  loadConfig(c.env); // a misconfigured deployment must not report healthy
  const [alerts, sales] = await Promise.all([alertsHealth(c.env), salesHealth(c.env)]);
  return c.json({ ok: true, version: VERSION, alerts, sales });
});
