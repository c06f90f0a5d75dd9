/**
 * `GET /health`: liveness for uptime checks and for payguard's own hourly check through its public URL.
 * It also says whether alerts are on and how each channel is doing (a channel that refuses its
 * configuration shows `config_error` here until someone fixes the setting).
 */
import { Hono } from "hono";
import { deskStub } from "../alerts/desk-sink.ts";
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

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  loadConfig(c.env); // a misconfigured deployment must not report healthy
  return c.json({ ok: true, version: VERSION, alerts: await alertsHealth(c.env) });
});
