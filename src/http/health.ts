/**
 * `GET /health`: liveness for uptime checks and for payguard's own hourly check through its public URL.
 * It also says whether alerts are on and how each channel is doing (a channel that refuses its
 * configuration shows `config_error` here until someone fixes the setting), and whether sales are paused.
 * `?probe=<nonce>` adds `probe`: this deployment's proof for that nonce (src/reconcile/probe-proof.ts).
 */
import { Hono } from "hono";
import { deskStub } from "../alerts/desk-sink.ts";
import { getDeps } from "../deps.ts";
import { loadConfig } from "../env.ts";
import { PROBE_NONCE_PATTERN, probeProof } from "../reconcile/probe-proof.ts";
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
  const config = loadConfig(c.env); // a misconfigured deployment must not report healthy
  const nonce = c.req.query("probe");
  if (nonce !== undefined && !PROBE_NONCE_PATTERN.test(nonce))
    return c.json({ error: "probe must be 22 to 128 base64url characters" }, 400);
  const probe = nonce ? { probe: await probeProof(config.adminToken, config.publicBaseUrl, nonce) } : {};
  const [alerts, sales] = await Promise.all([alertsHealth(c.env), salesHealth(c.env)]);
  return c.json({ ok: true, version: VERSION, alerts, sales, ...probe });
});
