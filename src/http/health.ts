/**
 * `GET /health`: liveness for uptime checks and for payguard's own hourly check through its public URL.
 *
 * Anyone gets `ok`, the version, whether alerts are on and which packages are paused, from a snapshot at
 * most HEALTH_CACHE_TTL_MS old (`asOf`): a flood of requests costs the database one call per isolate per
 * TTL and the AlertDesk none. Per isolate is enough: Cloudflare runs few isolates of a worker per location
 * and each reuses its snapshot, so the database sees a handful of calls per TTL whatever the request rate,
 * and no shared cache (which would itself be a call) is needed.
 *
 * A signed-in operator (the console's session cookie) or a request with an admin token (`Authorization:
 * Bearer`) gets the live answer with what a stranger should not see: each alert channel's state and error
 * (a channel that refuses its configuration shows `config_error` until someone fixes the setting), the
 * incident writes waiting for the database, an unreachable AlertDesk. A wrong token is 401 and counts
 * against the address like one on the admin API (429 over the budget).
 *
 * `?probe=<nonce>` adds `probe`: this deployment's proof for that nonce (src/reconcile/probe-proof.ts).
 */
import { type Context, Hono } from "hono";
import { adminTokens, identify } from "../admin/tokens.ts";
import { currentSession, type DashboardEnv } from "../admin/ui/context.ts";
import { THROTTLE_RETRY_AFTER_S, wrongTokenAllowed } from "../admin/ui/sign-in-limit.ts";
import { deskStub } from "../alerts/desk-sink.ts";
import { getDeps } from "../deps.ts";
import { loadConfig } from "../env.ts";
import { PROBE_NONCE_PATTERN, probeProof } from "../reconcile/probe-proof.ts";
import { VERSION } from "../version.ts";
import { createTtlCache, type TtlCache } from "./ttl-cache.ts";

/** How old the public answer's snapshot may be. Sales pauses and alerts show up within this. */
export const HEALTH_CACHE_TTL_MS = 10_000;

const BEARER_PATTERN = /^Bearer\s+(\S+)$/i;

type SalesHealth = { paused: string[] } | { paused: null; state: "unknown" };

/** Which packages an operator paused (`*` = all); `unknown` when the database cannot say right now. */
async function salesHealth(env: Env): Promise<SalesHealth> {
  const pauses = await getDeps(env).runbook.salesPauses();
  return pauses.ok
    ? { paused: pauses.value.map((pause) => pause.scope) }
    : { paused: null, state: "unknown" };
}

/** The AlertDesk's own account of each channel: for operators only. */
async function alertsDetail(env: Env, on: boolean) {
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
    return { on, channels: {}, desk: "unreachable" };
  }
}

const publicSnapshots = new WeakMap<object, TtlCache<SalesHealth>>();

function publicSales(env: Env, nowMs: number) {
  let cache = publicSnapshots.get(env);
  if (!cache) {
    cache = createTtlCache<SalesHealth>(HEALTH_CACHE_TTL_MS);
    publicSnapshots.set(env, cache);
  }
  return cache.get(nowMs, () => salesHealth(env));
}

/** `operator`, `public`, or the refusal of a wrong admin token. */
async function audienceOf(c: Context<{ Bindings: Env }>): Promise<"operator" | "public" | Response> {
  const bearer = BEARER_PATTERN.exec(c.req.header("authorization") ?? "")?.[1];
  if (bearer) {
    if (await identify(await adminTokens(c.env), bearer)) return "operator";
    if (!(await wrongTokenAllowed(c.env, c.req.header("cf-connecting-ip")))) {
      c.header("retry-after", String(THROTTLE_RETRY_AFTER_S));
      return c.json({ error: "too_many_requests", message: "too many wrong tokens from this address" }, 429);
    }
    return c.json({ error: "unauthorized", message: "the admin token is not valid" }, 401);
  }
  const session = await currentSession(c as unknown as Context<DashboardEnv>);
  return session.ok && session.value ? "operator" : "public";
}

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const config = loadConfig(c.env); // a misconfigured deployment must not report healthy
  const nonce = c.req.query("probe");
  if (nonce !== undefined && !PROBE_NONCE_PATTERN.test(nonce))
    return c.json({ error: "probe must be 22 to 128 base64url characters" }, 400);
  const audience = await audienceOf(c);
  if (audience instanceof Response) return audience;
  const probe = nonce ? { probe: await probeProof(config.adminToken, config.publicBaseUrl, nonce) } : {};
  const nowMs = Date.now();
  const on = config.alerts.channels.length > 0;
  if (audience === "operator") {
    const [alerts, sales] = await Promise.all([alertsDetail(c.env, on), salesHealth(c.env)]);
    return c.json({
      ok: true,
      version: VERSION,
      alerts,
      sales,
      asOf: new Date(nowMs).toISOString(),
      ...probe,
    });
  }
  const sales = await publicSales(c.env, nowMs);
  return c.json({
    ok: true,
    version: VERSION,
    alerts: { on },
    sales: sales.value,
    asOf: new Date(sales.loadedAtMs).toISOString(),
    ...probe,
  });
});
