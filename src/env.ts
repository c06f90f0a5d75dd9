/**
 * Configuration, parsed once per isolate from the Worker bindings. Everything downstream takes a typed
 * slice of `Config`, never raw `env`. A missing or invalid variable is reported by name at the first
 * request, so a misconfigured deployment fails loudly instead of silently dropping payments.
 */
import { type AlertSettings, parseAlertSettings } from "./alerts/settings.ts";
import { isServerKey } from "./auth/supabase-keys.ts";
import { type BudgetLimits, parseBudgetLimits } from "./budget/limits.ts";
import { type CheckoutConfig, parseCheckoutConfig } from "./checkout/settings.ts";
import type { DisputePolicy, Provider } from "./ledger/types.ts";
import { log } from "./log.ts";
import { type OpsSettings, parseOpsSettings } from "./ops/settings.ts";
import { DISPUTE_POLICY_DEFAULT } from "./providers/stripe/normalise.ts";
import type { StripeConfig } from "./providers/stripe/settings.ts";
import { parseWechatConfig, type WechatConfig } from "./providers/wechatpay/settings.ts";

export type { StripeConfig };

export interface Config {
  publicBaseUrl: string;
  supabaseUrl: string;
  /** `sb_secret_…` or the legacy service-role JWT: payguard only calls its own functions with it. */
  supabaseSecretKey: string;
  /** Legacy HS256 JWT secret; set only while user tokens may still be HS256-signed. */
  supabaseJwtSecret: string | null;
  adminToken: string;
  providers: Provider[];
  stripe: StripeConfig | null;
  wechat: WechatConfig | null;
  checkout: CheckoutConfig;
  /** Alert channels (each optional), their languages and the reminder interval: src/alerts/settings.ts. */
  alerts: AlertSettings;
  /** Browser origins allowed to call `/api/*` cross-origin (`APP_ORIGINS`); empty = same origin only. */
  appOrigins: string[];
  /** Threshold alerts and the weekly report's time zone: src/ops/settings.ts. */
  ops: OpsSettings;
  /** Provider requests per second for the whole deployment (`PROVIDER_REQUESTS_PER_SECOND`): src/budget/. */
  budget: BudgetLimits;
}

/** `warnings` are worth a log line at startup but do not stop the worker (e.g. a deprecated name). */
export type ConfigResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; problems: string[] };

const ADMIN_TOKEN_LENGTH_MIN = 24;
const KNOWN_PROVIDERS: readonly Provider[] = ["stripe", "wechatpay"];
const DISPUTE_POLICIES: readonly DisputePolicy[] = ["claw_back", "notify"];

type RawEnv = Record<string, unknown>;

function text(env: RawEnv, name: string): string {
  const value = env[name];
  return typeof value === "string" ? value.trim() : "";
}

function checkUrl(env: RawEnv, name: string, problems: string[], required: boolean): string {
  const value = text(env, name);
  if (!value) {
    if (required) problems.push(`${name} is missing`);
    return "";
  }
  if (!URL.canParse(value)) problems.push(`${name} is not a valid URL`);
  return value.replace(/\/+$/, "");
}

function parseProviders(env: RawEnv, problems: string[]): Provider[] {
  const names = text(env, "PROVIDERS")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) problems.push("PROVIDERS is missing (comma-separated: stripe, wechatpay)");
  const unknown = names.filter((name) => !KNOWN_PROVIDERS.includes(name as Provider));
  if (unknown.length > 0) problems.push(`PROVIDERS has unknown provider(s): ${unknown.join(", ")}`);
  return names.filter((name): name is Provider => KNOWN_PROVIDERS.includes(name as Provider));
}

function parseStripe(env: RawEnv, problems: string[]): StripeConfig {
  const secretKey = text(env, "STRIPE_SECRET_KEY");
  if (!secretKey) problems.push("STRIPE_SECRET_KEY is missing");
  const current = text(env, "STRIPE_WEBHOOK_SECRET");
  if (!current) problems.push("STRIPE_WEBHOOK_SECRET is missing");
  else if (!current.startsWith("whsec_")) problems.push("STRIPE_WEBHOOK_SECRET must start with whsec_");
  const previous = text(env, "STRIPE_WEBHOOK_SECRET_PREVIOUS");
  const apiBase = checkUrl(env, "STRIPE_API_BASE", problems, false);
  const disputePolicy = (text(env, "DISPUTE_POLICY") || DISPUTE_POLICY_DEFAULT) as DisputePolicy;
  if (!DISPUTE_POLICIES.includes(disputePolicy))
    problems.push(`DISPUTE_POLICY must be ${DISPUTE_POLICIES.join(" or ")}, not "${disputePolicy}"`);
  return { secretKey, webhookSecrets: [current, previous].filter(Boolean), apiBase, disputePolicy };
}

function parseWechat(env: RawEnv, problems: string[]): WechatConfig | null {
  const result = parseWechatConfig(env);
  if (result.ok) return result.config;
  problems.push(...result.problems);
  return null;
}

/** Exact origins (scheme://host[:port]), comma-separated; a path or a wildcard is refused, not guessed at. */
function parseAppOrigins(env: RawEnv, problems: string[]): string[] {
  const origins = text(env, "APP_ORIGINS")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(`APP_ORIGINS has "${origin}", which is not an origin like https://app.example.com`);
    }
  }
  return origins;
}

/** SUPABASE_SECRET_KEY, or the deprecated SUPABASE_SERVICE_ROLE_KEY with a warning. */
function parseSupabaseKey(env: RawEnv, problems: string[], warnings: string[]): string {
  const current = text(env, "SUPABASE_SECRET_KEY");
  const deprecated = text(env, "SUPABASE_SERVICE_ROLE_KEY");
  const name = current ? "SUPABASE_SECRET_KEY" : "SUPABASE_SERVICE_ROLE_KEY";
  const key = current || deprecated;
  if (!key) problems.push("SUPABASE_SECRET_KEY is missing");
  else if (!isServerKey(key))
    problems.push(`${name} must be a secret key (sb_secret_…) or the legacy service_role JWT`);
  else if (!current)
    warnings.push("SUPABASE_SERVICE_ROLE_KEY is deprecated: set SUPABASE_SECRET_KEY instead");
  return key;
}

/** Pure: same env in, same result out. Collects every problem instead of stopping at the first. */
export function parseConfig(env: RawEnv): ConfigResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const publicBaseUrl = checkUrl(env, "PUBLIC_BASE_URL", problems, true);
  const supabaseUrl = checkUrl(env, "SUPABASE_URL", problems, true);
  const supabaseSecretKey = parseSupabaseKey(env, problems, warnings);
  const adminToken = text(env, "ADMIN_TOKEN");
  if (adminToken.length < ADMIN_TOKEN_LENGTH_MIN) {
    problems.push(`ADMIN_TOKEN is missing or shorter than ${ADMIN_TOKEN_LENGTH_MIN} characters`);
  }
  const providers = parseProviders(env, problems);
  const stripe = providers.includes("stripe") ? parseStripe(env, problems) : null;
  const wechat = providers.includes("wechatpay") ? parseWechat(env, problems) : null;
  const checkout = parseCheckoutConfig(env, problems);
  const alerts = parseAlertSettings(env, problems);
  const appOrigins = parseAppOrigins(env, problems);
  const ops = parseOpsSettings(env, problems);
  const budget = parseBudgetLimits(env, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    warnings,
    config: {
      publicBaseUrl,
      supabaseUrl,
      supabaseSecretKey,
      supabaseJwtSecret: text(env, "SUPABASE_JWT_SECRET") || null,
      adminToken,
      providers,
      stripe,
      wechat,
      checkout,
      alerts,
      appOrigins,
      ops,
      budget,
    },
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`payguard configuration is invalid: ${problems.join("; ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const parsed = new WeakMap<object, Config>();

/** Parses once per env object (one per isolate in production) and throws ConfigError naming each problem. */
export function loadConfig(env: object): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = parseConfig(env as RawEnv);
  if (!result.ok) throw new ConfigError(result.problems);
  for (const warning of result.warnings) log("warn", "config_warning", { warning });
  parsed.set(env, result.config);
  return result.config;
}
