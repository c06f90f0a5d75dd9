/**
 * Hourly callback health: can the providers reach us, and are they? Each check owns one incident key
 * (`callback_health:<check>`), raised while the check fails and resolved once it passes. Reachability
 * fetches `PUBLIC_BASE_URL/health?probe=<nonce>` the way a provider would reach us and accepts only an
 * answer carrying this deployment's proof for the nonce. In production that fetch must go out through
 * Cloudflare's front door, not to the zone's origin: wrangler.toml enables `global_fetch_strictly_public`.
 */
import type Stripe from "stripe";
import type { Deps } from "../deps.ts";
import type { IncidentInput } from "../ledger/ports.ts";
import { stripeClientFor } from "../providers/registry.ts";
import { STRIPE_EVENT_TYPES } from "../providers/stripe/event-types.ts";
import {
  certificateExpiryFindings,
  WECHATPAY_CERT_EXPIRY_PREFIX,
} from "../providers/wechatpay/cert-expiry.ts";
import { setIncident, syncIncidents } from "./incidents.ts";
import { newProbeNonce, proofMatches } from "./probe-proof.ts";
import { callbackUrlProblem } from "./public-url.ts";

export const HEALTH_PREFIX = "callback_health:";
/** Delivery failures and late notifications are looked for over this window. */
export const HEALTH_WINDOW_MS = 3600_000;
/** A WeChat payment found by re-query this long after it was paid means its notification never came. */
export const WECHAT_NOTIFY_DELAY_S = 600;

/** How long the reachability probe waits for `/health` (Stripe waits about 10 s for a webhook answer). */
export const PROBE_TIMEOUT_MS = 10_000;

type Finding = Omit<IncidentInput, "key"> | null;
type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ProbeOptions {
  /** Defaults to the global fetch: the public internet, like a provider. */
  fetch?: Fetch;
  timeoutMs?: number;
}

export function callbackUrls(deps: Deps): string[] {
  const base = deps.config.publicBaseUrl;
  return [
    base,
    ...(deps.config.stripe ? [`${base}/webhooks/stripe`] : []),
    ...(deps.config.wechat ? [`${base}/webhooks/wechatpay`] : []),
  ];
}

export function configFinding(urls: string[]): Finding {
  const problems = urls.flatMap((url) => {
    const problem = callbackUrlProblem(url);
    return problem ? [{ url, problem }] : [];
  });
  if (problems.length === 0) return null;
  return {
    kind: "callback_url_not_public",
    severity: "critical",
    summary: `Providers cannot reach payguard: ${problems[0]?.url} (${problems[0]?.problem})`,
    detail: { problems },
  };
}

/** An enabled endpoint at our URL subscribed to every type we handle. */
export function stripeEndpointFinding(endpoints: Stripe.WebhookEndpoint[], url: string): Finding {
  const ours = endpoints.filter((endpoint) => endpoint.url === url);
  const enabled = ours.filter((endpoint) => endpoint.status === "enabled");
  const complete = enabled.find((endpoint) =>
    STRIPE_EVENT_TYPES.every(
      (type) => endpoint.enabled_events.includes(type) || endpoint.enabled_events.includes("*"),
    ),
  );
  if (complete) return null;
  const missing = enabled[0]
    ? STRIPE_EVENT_TYPES.filter((type) => !enabled[0]?.enabled_events.includes(type))
    : [...STRIPE_EVENT_TYPES];
  const state =
    ours.length === 0 ? "no endpoint" : enabled.length === 0 ? "endpoint disabled" : "events missing";
  return {
    kind: "stripe_endpoint_misconfigured",
    severity: "critical",
    summary: `Stripe webhook endpoint ${url}: ${state}`,
    detail: { url, state, missing, endpoints: ours.map((e) => ({ id: e.id, status: e.status })) },
  };
}

async function stripeChecks(deps: Deps, stripe: Stripe, nowMs: number): Promise<Record<string, Finding>> {
  const url = `${deps.config.publicBaseUrl}/webhooks/stripe`;
  const endpoints = await stripe.webhookEndpoints.list({ limit: 100 });
  const failing = await stripe.events.list({
    types: [...STRIPE_EVENT_TYPES],
    created: { gte: Math.floor((nowMs - HEALTH_WINDOW_MS) / 1000) },
    delivery_success: false,
    limit: 100,
  });
  const first = failing.data.at(-1);
  return {
    stripe_endpoint: stripeEndpointFinding(endpoints.data, url),
    stripe_delivery: first
      ? {
          kind: "stripe_deliveries_failing",
          severity: "critical",
          summary: `Stripe webhook deliveries are failing: ${failing.data.length}${failing.has_more ? "+" : ""} events in the last hour`,
          detail: {
            count: failing.data.length,
            more: failing.has_more,
            first_event_id: first.id,
            first_type: first.type,
          },
        }
      : null,
  };
}

async function wechatCheck(deps: Deps, nowMs: number): Promise<Finding> {
  const gaps = await deps.store.callbackGaps({
    provider: "wechatpay",
    sinceMs: nowMs - HEALTH_WINDOW_MS,
    untilMs: nowMs,
    delaySeconds: WECHAT_NOTIFY_DELAY_S,
  });
  if (!gaps.ok) throw new Error(`callback gaps: ${gaps.error.message}`);
  if (gaps.value.count === 0) return null;
  return {
    kind: "wechat_notifications_missing",
    severity: "critical",
    summary: `WeChat notifications are not arriving: ${gaps.value.count} paid orders found only by re-query, first ${gaps.value.firstOrderId}`,
    detail: {
      count: gaps.value.count,
      first_order_id: gaps.value.firstOrderId,
      delay_s: WECHAT_NOTIFY_DELAY_S,
    },
  };
}

/** Why `PUBLIC_BASE_URL/health` did not prove to be this deployment, or null when it did. */
export async function probeProblem(deps: Deps, options: ProbeOptions = {}): Promise<string | null> {
  const base = deps.config.publicBaseUrl;
  const nonce = newProbeNonce();
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`${base}/health?probe=${nonce}`, {
      headers: { accept: "application/json" },
      // A provider does not follow a redirect to a webhook, so neither does the probe.
      redirect: "manual",
      signal,
    });
  } catch (error) {
    return signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : `request failed: ${(error as Error).message}`;
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel();
    return `answered HTTP ${response.status}`;
  }
  const body = (await response.json().catch(() => null)) as { probe?: unknown } | null;
  if (typeof body?.probe !== "string") return "answered without this deployment's proof";
  const proven = await proofMatches(deps.config.adminToken, base, nonce, body.probe);
  return proven ? null : "answered with a wrong proof: another deployment answers this URL";
}

export function reachabilityFinding(base: string, problem: string | null): Finding {
  if (!problem) return null;
  return {
    kind: "callback_url_unreachable",
    severity: "critical",
    summary: `Callback URL not reachable: ${base}/health ${problem}`,
    detail: { url: `${base}/health`, problem },
  };
}

/** Runs every check it can; a check that cannot run is reported, and its incident left as it was. */
export async function checkCallbackHealth(deps: Deps, nowMs: number, probe: ProbeOptions = {}) {
  const reachability = await probeProblem(deps, probe);
  const findings: Record<string, Finding> = {
    config: configFinding(callbackUrls(deps)),
    reachability: reachabilityFinding(deps.config.publicBaseUrl, reachability),
  };
  const unchecked: Record<string, string> = {};
  const stripe = stripeClientFor(deps);
  if (stripe) {
    try {
      Object.assign(findings, await stripeChecks(deps, stripe, nowMs));
    } catch (error) {
      unchecked.stripe = (error as Error).message;
    }
  }
  if (deps.config.wechat) findings.wechat_notify = await wechatCheck(deps, nowMs);
  for (const [check, finding] of Object.entries(findings)) {
    await setIncident(deps, `${HEALTH_PREFIX}${check}`, finding, nowMs);
  }
  // Keyed by certificate serial: configuring the next certificate resolves the old one's incident.
  const certificates = certificateExpiryFindings(deps.config.wechat, nowMs);
  await syncIncidents(deps, WECHATPAY_CERT_EXPIRY_PREFIX, certificates, nowMs);
  const failing = Object.entries(findings).flatMap(([check, finding]) => (finding ? [check] : []));
  if (certificates.length > 0) failing.push("wechat_certificate");
  return { failing, unchecked, reachability: reachability ?? "ok" };
}
