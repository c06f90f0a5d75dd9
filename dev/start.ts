/**
 * `npm start`: payguard on this machine with nothing to sign up for. Starts the Supabase stand-in on
 * PGlite (data kept in .payguard/), the provider sandbox, and `wrangler dev` with a generated .dev.vars;
 * seeds a demo package; triggers the crons on a short interval so reconciliation is visible; stops
 * everything on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { startSandbox } from "./sandbox/index.ts";
import { startStandIn } from "./supabase/standin.ts";

const STATE_DIR = ".payguard";
const WORKER_PORT = Number(process.env.PAYGUARD_PORT ?? 8787);
const STANDIN_PORT = Number(process.env.PAYGUARD_STANDIN_PORT ?? 54321);
const SANDBOX_PORT = Number(process.env.PAYGUARD_SANDBOX_PORT ?? 12111);
const HEALTH_WAIT_MS = 60_000;
const HEALTH_POLL_MS = 500;
/** Locally the 5-minute reconcile runs every minute and the hourly sweep every 10 minutes. */
const LOCAL_CRONS = [
  { cron: "*/5 * * * *", everyMs: 60_000 },
  { cron: "0 * * * *", everyMs: 600_000 },
];

interface LocalSecrets {
  jwtSecret: string;
  adminToken: string;
}

async function loadLocalSecrets(): Promise<LocalSecrets> {
  const file = `${STATE_DIR}/local-secrets.json`;
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
  const secrets = { jwtSecret: randomBytes(32).toString("hex"), adminToken: randomBytes(24).toString("hex") };
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const devVarLine = (name: string, value: string): string => `${name}=${JSON.stringify(value)}`;

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + HEALTH_WAIT_MS;
  while (Date.now() < deadline) {
    const response = await fetch(url).catch(() => null);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  throw new Error(`payguard did not answer ${url} within ${HEALTH_WAIT_MS / 1000} s`);
}

async function main(): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  const secrets = await loadLocalSecrets();
  const workerUrl = `http://127.0.0.1:${WORKER_PORT}`;
  const standIn = await startStandIn({
    port: STANDIN_PORT,
    dataDir: `${STATE_DIR}/db`,
    jwtSecret: secrets.jwtSecret,
  });
  const sandbox = await startSandbox({
    port: SANDBOX_PORT,
    keysFile: `${STATE_DIR}/sandbox-keys.json`,
    stripeWebhookUrl: `${workerUrl}/webhooks/stripe`,
    wechatNotifyUrl: `${workerUrl}/webhooks/wechatpay`,
  });
  await standIn.query(
    `insert into public.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('demo_100', '100 credits', 1999, 'USD', 100, true), ('demo_cny_100', '100 credits', 990, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
  const vars: Record<string, string> = {
    PUBLIC_BASE_URL: workerUrl,
    SUPABASE_URL: standIn.url,
    SUPABASE_SERVICE_ROLE_KEY: standIn.serviceRoleKey,
    ADMIN_TOKEN: secrets.adminToken,
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
  };
  await writeFile(
    ".dev.vars",
    `${Object.entries(vars)
      .map(([k, v]) => devVarLine(k, v))
      .join("\n")}\n`,
    { mode: 0o600 },
  );

  const wrangler = spawn(
    "wrangler",
    ["dev", "--port", String(WORKER_PORT), "--ip", "127.0.0.1", "--test-scheduled", "--log-level", "warn"],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const timers: NodeJS.Timeout[] = [];
  const stop = async (code: number) => {
    for (const timer of timers) clearInterval(timer);
    wrangler.kill("SIGTERM");
    await Promise.allSettled([sandbox.close(), standIn.close()]);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => void stop(code ?? 1));

  await waitForHealth(`${workerUrl}/health`);
  for (const { cron, everyMs } of LOCAL_CRONS) {
    const trigger = `${workerUrl}/__scheduled?cron=${encodeURIComponent(cron)}`;
    timers.push(setInterval(() => void fetch(trigger).catch(() => undefined), everyMs));
  }
  console.log(
    [
      "",
      "payguard is running locally",
      `  worker     ${workerUrl}  (health: ${workerUrl}/health)`,
      `  admin      token for admin routes: ${secrets.adminToken}`,
      `  supabase   ${standIn.url}  (PGlite data in ${STATE_DIR}/db)`,
      `  sandbox    ${sandbox.url}  (Stripe + WeChat Pay simulators, alert receivers)`,
      "  pay a demo order:",
      `    curl -X POST ${sandbox.url}/_control/stripe/pay -H 'content-type: application/json' \\`,
      `      -d '{"orderId":"ord_demo_1","amountMinor":1999,"currency":"usd","metadata":{"user_id":"00000000-0000-4000-8000-000000000001","package_id":"demo_100"}}'`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${(error as Error).message}`);
  process.exit(1);
});
