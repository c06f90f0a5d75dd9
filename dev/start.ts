/**
 * `npm start`: payguard on this machine with nothing to sign up for: PGlite data kept in .payguard/
 * (or, when DATABASE_URL is set, the database it names on a Supabase-shaped server such as
 * `npm run db:cluster`'s, prepared like a project and migrated as its non-superuser postgres), the
 * provider sandbox, `wrangler dev`, a demo package, and the crons triggered on a short interval so
 * reconciliation is visible. Ctrl-C stops everything.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { startExampleApp } from "./example-app.ts";
import { startLocalStack } from "./local-stack.ts";
import { prepareSupabaseDatabase } from "./supabase/cluster.ts";

const STATE_DIR = ".payguard";
const WORKER_PORT = Number(process.env.PAYGUARD_PORT ?? 8787);
/** examples/checkout-button.html, served as the app would serve it (dev/example-app.ts). */
const APP_PORT = Number(process.env.PAYGUARD_APP_PORT ?? 8790);
const DATABASE_URL = process.env.DATABASE_URL || undefined;
const DEMO_USER = "00000000-0000-4000-8000-000000000001";
/** The demo user's access token lasts the working day; it is re-minted at every start. */
const DEMO_TOKEN_LIFETIME_S = 12 * 3600;
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

/** A monthly plan, billed by a price the sandbox knows, so a subscription can be tried locally too. */
async function seedDemoPlan(stack: Awaited<ReturnType<typeof startLocalStack>>): Promise<void> {
  await stack.standIn.query(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('demo_monthly', '500 credits a month', 999, 'USD', 500, true) on conflict (id) do nothing`,
  );
  await stack.standIn.query(
    `insert into payguard.credit_plans (package_id, price_ref, interval)
     values ('demo_monthly', 'price_demo_monthly', 'month') on conflict do nothing`,
  );
  const defined = await fetch(`${stack.sandbox.url}/_control/stripe/price`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "price_demo_monthly", unitAmount: 999, currency: "usd", interval: "month" }),
  });
  if (!defined.ok)
    throw new Error(`sandbox refused the demo price: ${defined.status} ${await defined.text()}`);
}

async function main(): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  const secrets = await loadLocalSecrets();
  const database = DATABASE_URL ? await prepareSupabaseDatabase(DATABASE_URL) : undefined;
  const app = await startExampleApp(APP_PORT);
  const stack = await startLocalStack({
    workerPort: WORKER_PORT,
    standInPort: Number(process.env.PAYGUARD_STANDIN_PORT ?? 54321),
    sandboxPort: Number(process.env.PAYGUARD_SANDBOX_PORT ?? 12111),
    dataDir: `${STATE_DIR}/db`,
    databaseUrl: database?.ownerUrl,
    sandboxKeysFile: `${STATE_DIR}/sandbox-keys.json`,
    jwtSecret: secrets.jwtSecret,
    adminToken: secrets.adminToken,
    envFile: ".dev.vars",
    vars: app.vars,
  });
  await stack.standIn.query(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('demo_100', '100 credits', 1999, 'USD', 100, true), ('demo_cny_100', '100 credits', 990, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
  await seedDemoPlan(stack);
  const timers = LOCAL_CRONS.map(({ cron, everyMs }) => {
    const trigger = `${stack.workerUrl}/__scheduled?cron=${encodeURIComponent(cron)}`;
    return setInterval(() => void fetch(trigger).catch(() => undefined), everyMs);
  });
  const stop = async (code: number) => {
    for (const timer of timers) clearInterval(timer);
    await Promise.all([stack.stop(), app.close()]);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  stack.wrangler.on("exit", (code) => void stop(code ?? 1));
  const { workerUrl, sandbox, standIn } = stack;
  const demoToken = await standIn.userToken(DEMO_USER, { expiresInS: DEMO_TOKEN_LIFETIME_S });
  const storage = DATABASE_URL ? "Postgres at DATABASE_URL" : `PGlite data in ${STATE_DIR}/db`;
  console.log(
    [
      "",
      "payguard is running locally",
      `  worker     ${workerUrl}  (health: ${workerUrl}/health)`,
      `  admin      token for admin routes: ${secrets.adminToken}`,
      `  supabase   ${standIn.url}  (${storage})`,
      `             secret key ${standIn.secretKey}  publishable key ${standIn.publishableKey}`,
      `             JWKS ${standIn.url}/auth/v1/.well-known/jwks.json`,
      `  sandbox    ${sandbox.url}  (Stripe + WeChat Pay simulators, alert receivers)`,
      "  check out as a demo user, pay on the sandbox's hosted Checkout page (it delivers the signed webhook), look at the order:",
      `    TOKEN=${demoToken}`,
      `    curl -X POST ${workerUrl}/api/checkout -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `      -d '{"packageId":"demo_100","provider":"stripe"}'`,
      "    curl -X POST '<url from the answer>'",
      `    curl ${workerUrl}/api/orders/<orderId from the answer> -H "authorization: Bearer $TOKEN"`,
      `  packages and plans: curl ${workerUrl}/api/packages`,
      `  subscribe: the same checkout with -d '{"planId":"demo_monthly","provider":"stripe"}', pay at its url; each paid`,
      `    invoice grants 500 credits. Renew: curl -X POST ${sandbox.url}/_control/stripe/subscription/renew -d '{"subscriptionId":"sub_…"}'`,
      "  or in a browser, the app's checkout button and success page (examples/checkout-button.html):",
      `    ${app.pageUrl}?api=${encodeURIComponent(workerUrl)}&token=${demoToken}`,
      `  WeChat Native: the same checkout with -d '{"packageId":"demo_cny_100","provider":"wechatpay","tradeType":"native"}',`,
      `    then the customer pays: curl -X POST ${sandbox.url}/_control/wechat/pay -d '{"orderId":"<orderId>"}'`,
      `  alerts: Slack, DingTalk, WeCom and email land in the sandbox: curl ${sandbox.url}/_control/alerts`,
      `    press a Slack button as the operator "oncall": curl -X POST ${sandbox.url}/_control/alerts/slack/click -d '{"action":"acknowledge"}'`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${(error as Error).message}`);
  process.exit(1);
});
