/**
 * Starts payguard locally with everything it talks to: the Supabase stand-in, the provider sandbox and
 * `wrangler dev` with an env file generated for them. Used by `npm start` and by the benchmarks.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { type Sandbox, startSandbox } from "./sandbox/index.ts";
import { type StandIn, startStandIn } from "./supabase/standin.ts";

const HEALTH_WAIT_MS = 60_000;
const HEALTH_POLL_MS = 500;

export interface LocalStackOptions {
  workerPort: number;
  standInPort?: number;
  sandboxPort?: number;
  /** PGlite directory; undefined keeps the database in memory. */
  dataDir?: string;
  /** A real Postgres for the stand-in instead of PGlite (benchmarks, chaos runs). */
  databaseUrl?: string;
  /** The stand-in's and the sandbox's test-only controls (injected failures, seeded faults). */
  standInTestControl?: boolean;
  sandboxSeed?: number;
  sandboxKeysFile?: string;
  jwtSecret: string;
  adminToken: string;
  /** Where the generated variables and secrets for wrangler go (`.dev.vars` for npm start). */
  envFile: string;
  /** Extra `wrangler dev` arguments, e.g. `--persist-to DIR`. */
  wranglerArgs?: string[];
  /** Worker variables over `workerVars` (npm start: the example app's origin and Checkout pages). */
  vars?: Record<string, string>;
}

export interface LocalStack {
  workerUrl: string;
  standIn: StandIn;
  sandbox: Sandbox;
  wrangler: ChildProcess;
  stop(): Promise<void>;
}

/** The local alert email's sender; the local send_email simulation accepts any domain. */
export const LOCAL_ALERT_EMAIL_FROM = "payguard-alerts@payguard.test";

/** The secrets wrangler.toml `[secrets] required` lists: what every deployment needs. */
const REQUIRED_SECRETS = new Set(["ADMIN_TOKEN", "SUPABASE_SECRET_KEY"]);

export function workerVars(
  workerUrl: string,
  standIn: StandIn,
  sandbox: Sandbox,
  adminToken: string,
): Record<string, string> {
  return {
    PUBLIC_BASE_URL: workerUrl,
    SUPABASE_URL: standIn.url,
    SUPABASE_SECRET_KEY: standIn.secretKey,
    ADMIN_TOKEN: adminToken,
    PROVIDERS: "stripe,wechatpay",
    STRIPE_API_BASE: sandbox.url,
    STRIPE_SECRET_KEY: sandbox.stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: sandbox.stripe.webhookSecret,
    STRIPE_WEBHOOK_SECRET_PREVIOUS: "",
    WECHATPAY_API_BASE: sandbox.url,
    WECHATPAY_MCHID: sandbox.wechat.mchid,
    WECHATPAY_APPID: sandbox.wechat.appid,
    WECHATPAY_MERCHANT_SERIAL: sandbox.wechat.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: sandbox.wechat.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: sandbox.wechat.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: sandbox.wechat.publicKeyId,
    WECHATPAY_PUBLIC_KEY: sandbox.wechat.publicKeyPem,
    WECHATPAY_PLATFORM_CERTS: sandbox.wechat.platformCertsPem,
    SLACK_WEBHOOK_URL: sandbox.alerts.slackUrl,
    DINGTALK_WEBHOOK_URL: sandbox.alerts.dingtalkUrl,
    DINGTALK_SECRET: sandbox.alerts.dingtalkSecret,
    WECOM_WEBHOOK_URL: sandbox.alerts.wecomUrl,
    SLACK_SIGNING_SECRET: sandbox.alerts.slackSigningSecret,
    SLACK_OPERATORS: `${sandbox.alerts.slackUserId}:oncall`,
    ALERT_EMAIL_TO: sandbox.alerts.emailTo,
    ALERT_EMAIL_FROM: LOCAL_ALERT_EMAIL_FROM,
    CHECKOUT_SUCCESS_URL: `${workerUrl}/api/orders/{ORDER_ID}?session_id={CHECKOUT_SESSION_ID}`,
    CHECKOUT_CANCEL_URL: `${workerUrl}/api/packages`,
  };
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + HEALTH_WAIT_MS;
  while (Date.now() < deadline) {
    const response = await fetch(url).catch(() => null);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  throw new Error(`payguard did not answer ${url} within ${HEALTH_WAIT_MS / 1000} s`);
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const workerUrl = `http://127.0.0.1:${options.workerPort}`;
  const standIn = await startStandIn({
    port: options.standInPort,
    dataDir: options.dataDir,
    databaseUrl: options.databaseUrl,
    testControl: options.standInTestControl,
    jwtSecret: options.jwtSecret,
  });
  const sandbox = await startSandbox({
    port: options.sandboxPort,
    keysFile: options.sandboxKeysFile,
    seed: options.sandboxSeed,
    stripeWebhookUrl: `${workerUrl}/webhooks/stripe`,
    wechatNotifyUrl: `${workerUrl}/webhooks/wechatpay`,
    slackInteractivityUrl: `${workerUrl}/slack/interactions`,
  });
  const vars = { ...workerVars(workerUrl, standIn, sandbox, options.adminToken), ...options.vars };
  const lines = Object.entries(vars).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  await writeFile(options.envFile, `${lines.join("\n")}\n`, { mode: 0o600 });
  const wrangler = spawn(
    "wrangler",
    [
      "dev",
      ...[
        "--port",
        String(options.workerPort),
        "--ip",
        "127.0.0.1",
        "--test-scheduled",
        "--log-level",
        "warn",
      ],
      ...["--env-file", options.envFile],
      // wrangler dev loads only `[secrets] required` from the env file; the optional (per-provider,
      // per-channel) secrets of this local stack go in as vars. Sandbox keys only, never real ones.
      ...Object.entries(vars)
        .filter(([name]) => !REQUIRED_SECRETS.has(name))
        .flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ...(options.wranglerArgs ?? []),
    ],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const stop = async () => {
    wrangler.kill("SIGTERM");
    await Promise.allSettled([sandbox.close(), standIn.close()]);
  };
  try {
    await waitForHealth(`${workerUrl}/health`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { workerUrl, standIn, sandbox, wrangler, stop };
}
