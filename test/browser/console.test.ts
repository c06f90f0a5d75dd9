/**
 * The dashboard in a real browser: headless Debian Chromium (playwright-core) against `wrangler dev` with
 * the stand-in and the sandbox (dev/local-stack.ts). Every page visited is saved under
 * test/browser/screenshots/. Skipped, with one line saying so, only where /usr/bin/chromium is absent.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../dev/local-stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOTS = join(import.meta.dirname, "screenshots");
const ADMIN_TOKEN = "browser-admin-token-0123456789abcdef";
const STACK_TIMEOUT_MS = 120_000;

const present = existsSync(CHROMIUM);
if (!present) console.log(`browser tests skipped: ${CHROMIUM} is not installed`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe.skipIf(!present)("operator console in Chromium", () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let workDir: string;

  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
    stack.standIn.query<T>(query, params);
  const control = async (path: string, body: unknown) => {
    const response = await fetch(`${stack.sandbox.url}/_control/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const shot = (name: string, on: Page = page) =>
    on.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const VIEWPORT = { width: 1280, height: 900 };
  /** A browser page of its own (its own cookies), signed in; each test works on one, in any order. */
  async function signedInPage(): Promise<Page> {
    const signedIn = await browser.newPage({ viewport: VIEWPORT });
    await signedIn.goto(`${stack.workerUrl}/admin/login`);
    await signedIn.fill("#token", ADMIN_TOKEN);
    await signedIn.click("button[type=submit]");
    await signedIn.waitForURL(`${stack.workerUrl}/admin`);
    return signedIn;
  }
  const balanceOf = async (user: string) =>
    (
      await sql<{ credits: number }>(
        "select credits::int as credits from payguard.credit_balances where user_id = $1",
        [user],
      )
    )[0]?.credits;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "payguard-browser-"));
    await mkdir(SCREENSHOTS, { recursive: true });
    stack = await startLocalStack({
      workerPort: await freePort(),
      jwtSecret: "browser-test-jwt-secret-0123456789abcdef",
      adminToken: ADMIN_TOKEN,
      envFile: join(workDir, "worker.env"),
      wranglerArgs: ["--persist-to", join(workDir, "state")],
    });
    await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
               values ('credits_100', '100 credits', 1999, 'USD', 100, true) on conflict (id) do nothing`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    page = await signedInPage();
  }, STACK_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    if (stack) {
      // wrangler's own esbuild child must be gone before vitest exits, or it dumps its goroutines.
      const exited = new Promise((resolve) => stack.wrangler.once("exit", resolve));
      await stack.stop();
      await exited;
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** An order paid at the sandbox whose webhook was never delivered. */
  async function droppedWebhookOrder() {
    const user = crypto.randomUUID();
    const [row] = await sql<{ id: string }>(
      "select payguard.create_order($1::uuid, 'credits_100', 'stripe', now())->>'id' as id",
      [user],
    );
    const orderId = row?.id ?? "";
    const paid = await control("stripe/pay", { orderId, amountMinor: 1999, currency: "usd", deliver: false });
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
    return { user, orderId };
  }

  it("signs in with a token and lands on the overview", async () => {
    const visitor = await browser.newPage({ viewport: VIEWPORT });
    await visitor.goto(`${stack.workerUrl}/admin/orders`);
    expect(visitor.url()).toBe(`${stack.workerUrl}/admin/login`);
    await shot("01-login", visitor);
    await visitor.fill("#token", ADMIN_TOKEN);
    await visitor.click("button[type=submit]");
    await visitor.waitForURL(`${stack.workerUrl}/admin`);
    const cookies = await visitor.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "payguard_admin")).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    });
    await shot("02-overview", visitor);
    await visitor.close();
  });

  it("finds an order whose webhook was dropped, syncs it and sees it fulfilled with its timeline", async () => {
    const { user, orderId } = await droppedWebhookOrder();
    await page.goto(`${stack.workerUrl}/admin/orders?status=pending`);
    await shot("03-orders-pending");
    await page.click(`a[href="/admin/orders/${orderId}"]`);
    await page.waitForURL(`**/admin/orders/${orderId}`);
    await shot("04-order-pending");
    await page.fill("#action-sync input[name=reason]", "customer paid, webhook never came");
    await page.click("#action-sync button");
    await page.waitForURL(`**/admin/orders/${orderId}?done=fulfilled`);
    const timeline = await page.textContent("#timeline");
    expect(timeline).toContain("paid");
    expect(timeline).toContain("admin_sync");
    expect(await page.textContent("h1")).toContain("fulfilled");
    expect(await balanceOf(user)).toBe(100);
    await shot("05-order-synced");

    await page.fill("#action-refund input[name=amount_minor]", "1000");
    await page.fill("#action-refund input[name=reason]", "half back as agreed");
    await page.click("#action-refund button");
    await page.waitForSelector("#confirm");
    await shot("06-refund-confirm");
    expect(await balanceOf(user)).toBe(100);
    await page.click("#confirm");
    await page.waitForURL(`**/admin/orders/${orderId}?done=partially_refunded`);
    expect(await page.textContent("#ledger")).toContain("-50");
    expect(await page.textContent("#refunds")).toContain("re_");
    await shot("07-order-refunded");
    expect(await balanceOf(user)).toBe(50);
  });

  it("acknowledges an incident", async () => {
    const key = `unknown_order:stripe:evt_browser_${Date.now()}`;
    await sql(
      "select payguard.open_incident($1, 'unknown_order', 'critical', 'Stripe event matches no order', '{}'::jsonb, now())",
      [key],
    );
    await page.goto(`${stack.workerUrl}/admin/incidents`);
    await shot("08-incidents");
    const row = page.locator(`tr[data-key="${key}"]`);
    await row
      .locator("form[action='/admin/incidents/acknowledge'] input[name=reason]")
      .fill("looking into it");
    await row.locator("form[action='/admin/incidents/acknowledge'] button").click();
    await page.waitForURL("**/admin/incidents?done=acknowledged");
    expect(await page.locator(`tr[data-key="${key}"] .acknowledged-by`).textContent()).toBe("admin");
    await shot("09-incident-acknowledged");
  });

  it("repairs a payment whose order was never written from its reference, after a dry run, and pauses sales", async () => {
    const user = crypto.randomUUID();
    const orderId = `ord_browser_${Date.now()}`;
    const paid = await control("stripe/pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
      metadata: { user_id: user, package_id: "credits_100" },
      deliver: false,
    });
    await page.goto(`${stack.workerUrl}/admin/runbook`);
    await page.fill("#repair-form textarea[name=refs]", String(paid.paymentIntentId));
    await page.fill("#repair-form input[name=reason]", "customer sent the Stripe receipt");
    await page.click("#repair-form button[value=true]");
    await page.waitForSelector("#repair-results");
    expect(await page.textContent("#repair-results")).toContain("would_rebuild");
    await shot("12-runbook-dry-run");
    expect(await balanceOf(user)).toBeUndefined();

    await page.fill("#repair-form textarea[name=refs]", String(paid.paymentIntentId));
    await page.fill("#repair-form input[name=reason]", "customer sent the Stripe receipt");
    await page.click("#repair-form button[value=false]");
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    await page.waitForSelector("#repair-results");
    expect(await page.textContent("#repair-results")).toContain("created_from_metadata");
    expect(await balanceOf(user)).toBe(100);
    await shot("13-runbook-repaired");

    await page.selectOption("#pause-form select[name=scope]", "credits_100");
    await page.fill("#pause-form input[name=reason]", "supplier problem, stop selling");
    await page.click("#pause-form button");
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    await page.waitForURL("**/admin/runbook?done=paused");
    expect(await page.textContent("#sales-banner")).toContain("credits_100");
    await shot("14-sales-paused");
    const row = page.locator('tr[data-scope="credits_100"]');
    await row.locator("input[name=reason]").fill("supplier is back");
    await row.locator("button").click();
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    await page.waitForURL("**/admin/runbook?done=resumed");
    expect(await page.locator("#sales-banner").count()).toBe(0);
  });

  it("runs a job now from the jobs page, and shows the overview in Chinese", async () => {
    await page.goto(`${stack.workerUrl}/admin/jobs`);
    await page.fill("form[action='/admin/jobs/reconcile/run'] input[name=reason]", "checking the sweep");
    await page.click("form[action='/admin/jobs/reconcile/run'] button");
    await page.waitForURL("**/admin/jobs?done=ok");
    expect(await page.textContent("#job-runs")).toContain("reconcile");
    await shot("10-jobs");
    // The language is a per-browser choice: switched on a page of its own, the other tests stay in English.
    const chinese = await signedInPage();
    await chinese.click("#lang-switch");
    await chinese.waitForURL(`${stack.workerUrl}/admin`);
    expect(await chinese.textContent("h1")).toBe("概览");
    await shot("11-overview-zh", chinese);
    await chinese.close();
  });
});
