/**
 * The dashboard in a real browser: headless Debian Chromium (playwright-core) against `wrangler dev` with
 * the stand-in and the sandbox (dev/local-stack.ts, started by support/console.ts). Every page visited is
 * saved under test/browser/screenshots/ as `flow-console-*.png`. Skipped, with one line saying so, only
 * where /usr/bin/chromium is absent.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  type ConsoleStack,
  chromiumPresent,
  STACK_TIMEOUT_MS,
  startConsole,
} from "./support/console.ts";
import { PACKAGES_SQL } from "./support/orders.ts";

const VIEWPORT = { width: 1280, height: 900 };

describe.skipIf(!chromiumPresent)("operator console in Chromium", () => {
  let c: ConsoleStack;
  let page: Page;

  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) => c.sql<T>(query, params);
  const control = (path: string, body: unknown) => c.control<Record<string, unknown>>(path, body);
  const shot = (name: string, on: Page = page) => c.shot(`flow-console-${name}`, on);
  /** A browser page of its own (its own cookies), signed in; each test works on one, in any order. */
  const signedInPage = () => c.signedInPage(VIEWPORT);
  const balanceOf = async (user: string) =>
    (
      await sql<{ credits: number }>(
        "select credits::int as credits from payguard.credit_balances where user_id = $1",
        [user],
      )
    )[0]?.credits;

  beforeAll(async () => {
    c = await startConsole();
    await sql(PACKAGES_SQL);
    page = await signedInPage();
  }, STACK_TIMEOUT_MS);
  afterAll(() => c?.stop());

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

  it("signs in with a token and lands on the page it first asked for", async () => {
    const visitor = await (await c.context(VIEWPORT)).newPage();
    await visitor.goto(`${c.stack.workerUrl}/admin/orders`);
    expect(visitor.url()).toBe(`${c.stack.workerUrl}/admin/login?next=%2Fadmin%2Forders`);
    await shot("01-login", visitor);
    await visitor.fill("#token", ADMIN_TOKEN);
    await visitor.click("button[type=submit]");
    await visitor.waitForURL(`${c.stack.workerUrl}/admin/orders`);
    const cookies = await visitor.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "payguard_admin")).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    });
    await shot("02-orders-after-sign-in", visitor);
    await visitor.context().close();
  });

  it("finds an order whose webhook was dropped, syncs it and sees it fulfilled with its timeline", async () => {
    const { user, orderId } = await droppedWebhookOrder();
    await page.goto(`${c.stack.workerUrl}/admin/orders?status=pending`);
    await shot("03-orders-pending");
    await page.click(`a[href="/admin/orders/${orderId}"]`);
    await page.waitForURL(`**/admin/orders/${orderId}`);
    await shot("04-order-pending");
    await page.fill("#action-sync input[name=reason]", "customer paid, webhook never came");
    await page.click("#action-sync button");
    expect(await page.textContent(".flash.ok")).toContain("fulfilled");
    const timeline = await page.textContent("#timeline");
    expect(timeline).toContain("paid");
    expect(timeline).toContain("admin_sync");
    expect(await page.textContent("h1")).toContain("fulfilled");
    expect(await balanceOf(user)).toBe(100);
    await shot("05-order-synced");

    await page.fill("#action-refund input[name=amount]", "10.00");
    await page.fill("#action-refund input[name=reason]", "half back as agreed");
    await page.click("#action-refund button");
    await page.waitForSelector("#confirm");
    await shot("06-refund-confirm");
    expect(await balanceOf(user)).toBe(100);
    await page.click("#confirm");
    expect(await page.textContent(".flash.ok")).toContain("partially_refunded");
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
    await page.goto(`${c.stack.workerUrl}/admin/incidents`);
    await shot("08-incidents");
    // One click: acknowledging asks for no reason.
    const row = page.locator(`tr[data-key="${key}"]`);
    await row.locator("form[action='/admin/incidents/acknowledge'] button").click();
    expect(await page.textContent(".flash.ok")).toContain("acknowledged");
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
    await page.goto(`${c.stack.workerUrl}/admin/runbook`);
    await page.fill("#repair-form textarea[name=refs]", String(paid.paymentIntentId));
    await page.fill("#repair-form input[name=reason]", "customer sent the Stripe receipt");
    await page.click("#repair-form button[value=true]");
    await page.waitForSelector("#repair-results");
    expect(await page.textContent("#repair-results")).toContain("would rebuild the order");
    await shot("12-runbook-dry-run");
    expect(await balanceOf(user)).toBeUndefined();

    await page.fill("#repair-form textarea[name=refs]", String(paid.paymentIntentId));
    await page.fill("#repair-form input[name=reason]", "customer sent the Stripe receipt");
    await page.click("#repair-form button[value=false]");
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    await page.waitForSelector("#repair-results");
    expect(await page.textContent("#repair-results")).toContain("order rebuilt and credited");
    expect(await balanceOf(user)).toBe(100);
    await shot("13-runbook-repaired");

    await page.selectOption("#pause-form select[name=scope]", "credits_100");
    await page.fill("#pause-form input[name=reason]", "supplier problem, stop selling");
    await page.click("#pause-form button");
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    expect(await page.textContent(".flash.ok")).toContain("paused");
    expect(await page.textContent("#sales-banner")).toContain("credits_100");
    await shot("14-sales-paused");
    const row = page.locator('tr[data-scope="credits_100"]');
    await row.locator("input[name=reason]").fill("supplier is back");
    await row.locator("button").click();
    await page.waitForSelector("#confirm");
    await page.click("#confirm");
    expect(await page.textContent(".flash.ok")).toContain("resumed");
    expect(await page.locator("#sales-banner").count()).toBe(0);
  });

  it("runs a job now from the jobs page, and shows the overview in Chinese", async () => {
    await page.goto(`${c.stack.workerUrl}/admin/jobs`);
    await page.fill("form[action='/admin/jobs/reconcile/run'] input[name=reason]", "checking the sweep");
    await page.click("form[action='/admin/jobs/reconcile/run'] button");
    expect(await page.textContent(".flash.ok")).toContain("ok");
    expect(await page.textContent("#job-runs")).toContain("reconcile");
    await shot("10-jobs");
    // The language is a per-browser choice: switched on a page of its own, the other tests stay in English.
    const chinese = await signedInPage();
    await chinese.click("#lang-switch");
    await chinese.waitForURL(`${c.stack.workerUrl}/admin`);
    expect(await chinese.textContent("h1")).toBe("概览");
    await shot("11-overview-zh", chinese);
    await chinese.context().close();
  });
});
