/**
 * Every console page in Chromium, in English and Chinese, at 1440×900 and on a 390×844 phone, over data
 * made through the product: a paid order, a wrong-amount payment in review (a critical incident), and a
 * WeChat Pay order whose last provider check failed (the reconcile run from the jobs page while the
 * sandbox answers 500 for it), and a user's subscription history (paid invoices settled through
 * `settle_event` as their deliveries would be). On the phone the overview, an order and the incidents list must not scroll
 * sideways and their actions must be on screen and clickable. Each page is saved under
 * test/browser/screenshots/ as `page-<name>-<lang>-<width>.png` for a person to look at.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plan, planRows, subscriptionHistory } from "../support/node/subscription-history.ts";
import {
  type ConsoleStack,
  chromiumPresent,
  DESKTOP,
  PHONE,
  STACK_TIMEOUT_MS,
  startConsole,
} from "./support/console.ts";
import { createOrder, PACKAGES_SQL, paidOrder, wrongAmountOrder } from "./support/orders.ts";

const LANGS = ["en", "zh"] as const;
/** 2 languages × 2 widths × 15 pages, each loaded and saved whole. */
const SCREENSHOTS_TIMEOUT_MS = 180_000;
type Lang = (typeof LANGS)[number];

describe.skipIf(!chromiumPresent)("console pages at 1440 and 390 px, in English and Chinese", () => {
  let c: ConsoleStack;
  const signedIn = {} as Record<Lang, Page>;
  const ids = { paid: "", review: "", failedCheck: "", subscriber: "" };
  const reviewKey = () => `needs_review:${ids.review}`;

  /** A WeChat Pay order due for its check, checked by the reconcile (run from the jobs page) while WeChat fails. */
  async function orderWithFailedCheck(page: Page): Promise<string> {
    const orderId = await createOrder(c, crypto.randomUUID(), "credits_cny", "wechatpay");
    await c.sql(
      "update payguard.payment_orders set next_check_at = now() - interval '1 second' where id = $1",
      [orderId],
    );
    await c.control("faults", {
      api: [{ kind: "5xx", pathPrefix: `/v3/pay/transactions/out-trade-no/${orderId}` }],
    });
    try {
      await page.goto(c.url("/admin/jobs"));
      const run = page.locator("form[action='/admin/jobs/reconcile/run']");
      await run.locator("input[name=reason]").fill("checking pending orders");
      await run.locator("button").click();
      await page.waitForSelector(".flash.ok");
    } finally {
      await c.control("faults", { api: [] });
    }
    const [check] = await c.sql<{ outcome: string }>(
      "select last_check_outcome as outcome from payguard.payment_orders where id = $1",
      [orderId],
    );
    if (check?.outcome !== "error")
      throw new Error(`the check of ${orderId} did not fail: ${check?.outcome}`);
    return orderId;
  }

  beforeAll(async () => {
    c = await startConsole();
    await c.sql(PACKAGES_SQL);
    for (const lang of LANGS) signedIn[lang] = await c.signedInPage(DESKTOP, lang);
    ids.paid = (await paidOrder(c, crypto.randomUUID())).orderId;
    ids.review = (await wrongAmountOrder(c, crypto.randomUUID())).orderId;
    ids.failedCheck = await orderWithFailedCheck(signedIn.en);
    ids.subscriber = crypto.randomUUID();
    const monthly = plan("screens_monthly", { expiry: "reset" });
    const { calls } = subscriptionHistory(ids.subscriber, monthly, Date.now());
    for (const [query, params] of [...planRows(monthly), ...calls]) await c.sql(query, params);
  }, STACK_TIMEOUT_MS);
  afterAll(() => c?.stop());

  const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

  /** On screen horizontally at the phone's width, and clickable there (Playwright's actionability checks). */
  async function expectReachable(page: Page, selector: string) {
    const target = page.locator(selector).first();
    await target.click({ trial: true, timeout: 5_000 });
    const box = await target.boundingBox();
    expect(box, selector).not.toBeNull();
    expect(box?.x ?? -1, selector).toBeGreaterThanOrEqual(0);
    expect((box?.x ?? 0) + (box?.width ?? 0), selector).toBeLessThanOrEqual(PHONE.width);
  }

  it("fits the overview, an order and the incidents list in 390 px, actions on screen, in both languages", async () => {
    for (const lang of LANGS) {
      const page = signedIn[lang];
      await page.setViewportSize(PHONE);
      try {
        const visit = async (path: string) => {
          await page.goto(c.url(path));
          expect(await pageWidth(page), `${lang} ${path}`).toBeLessThanOrEqual(PHONE.width);
        };
        await visit("/admin");
        for (const href of ["/admin", "/admin/orders", "/admin/incidents", "/admin/jobs", "/admin/report"])
          await expectReachable(page, `header nav a[href="${href}"]`);
        await expectReachable(page, "header nav a[href='/admin/runbook']");
        await expectReachable(page, "#lang-switch");
        await expectReachable(page, "header form[action='/admin/logout'] button");
        await expectReachable(page, "#attention a.attn.critical");

        await visit(`/admin/orders/${ids.paid}`);
        await expectReachable(page, "#action-refund input[name=amount]");
        await expectReachable(page, "#action-refund input[name=reason]");
        await expectReachable(page, "#action-refund button[type=submit]");
        await expectReachable(page, "#action-sync button");

        await visit(`/admin/orders/${ids.review}`);
        await expectReachable(page, "#action-review input[value=reject]");
        await expectReachable(page, "#action-review button[type=submit]");
        await expectReachable(page, "#action-refund-extra-0 button[type=submit]");

        await visit("/admin/incidents");
        const row = `tr[data-key="${reviewKey()}"]`;
        await expectReachable(page, `${row} a.incident-title`);
        await expectReachable(page, `${row} form[action='/admin/incidents/acknowledge'] button`);
        await expectReachable(page, "#bulk-actions button");
      } finally {
        await page.setViewportSize(DESKTOP);
      }
    }
  });

  const PAGES: Array<[name: string, path: () => string, status?: number]> = [
    ["overview", () => "/admin"],
    ["orders", () => "/admin/orders"],
    ["order-pending-failed-check", () => `/admin/orders/${ids.failedCheck}`],
    ["order-paid", () => `/admin/orders/${ids.paid}`],
    ["order-review", () => `/admin/orders/${ids.review}`],
    ["user", () => `/admin/users/${ids.subscriber}`],
    ["incidents", () => "/admin/incidents"],
    ["incident", () => `/admin/incidents/${encodeURIComponent(reviewKey())}`],
    ["jobs", () => "/admin/jobs"],
    ["report", () => "/admin/report"],
    ["runbook", () => "/admin/runbook"],
    ["settings", () => "/admin/settings"],
    ["not-found", () => "/admin/no-such-page", 404],
  ];

  async function shootAll(page: Page, lang: Lang, width: number, wide: string[]) {
    const save = async (name: string) => {
      await c.shot(`page-${name}-${lang}-${width}`, page);
      if ((await pageWidth(page)) > width) wide.push(`${name} ${lang} ${width}`);
    };
    for (const [name, path, status = 200] of PAGES) {
      const response = await page.goto(c.url(path()));
      expect(response?.status(), `${name} ${lang}`).toBe(status);
      expect(await page.locator("html").getAttribute("lang")).toBe(lang === "zh" ? "zh-CN" : "en");
      await save(name);
    }
    // A refund's confirmation page (not confirmed: nothing moves).
    await page.goto(c.url(`/admin/orders/${ids.paid}`));
    await page.fill("#action-refund input[name=amount]", "10.00");
    await page.fill("#action-refund input[name=reason]", "screenshot of the confirmation");
    await page.click("#action-refund button[type=submit]");
    await page.waitForSelector("#confirm-line");
    await save("refund-confirm");
  }

  it(
    "shows every page in both languages at 1440 and 390 px, none scrolling sideways",
    async () => {
      const wide: string[] = [];
      for (const lang of LANGS) {
        for (const viewport of [DESKTOP, PHONE]) {
          const page = signedIn[lang];
          await page.setViewportSize(viewport);
          await shootAll(page, lang, viewport.width, wide);
          const signedOut = await (await c.context(viewport, lang)).newPage();
          await signedOut.goto(c.url("/admin/login"));
          expect(await signedOut.locator("#token").isVisible()).toBe(true);
          await c.shot(`page-login-${lang}-${viewport.width}`, signedOut);
          if ((await pageWidth(signedOut)) > viewport.width) wide.push(`login ${lang} ${viewport.width}`);
          await signedOut.context().close();
        }
        await signedIn[lang].setViewportSize(DESKTOP);
      }
      expect(wide).toEqual([]);
    },
    SCREENSHOTS_TIMEOUT_MS,
  );
});
