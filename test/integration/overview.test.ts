/**
 * The console overview answers "is money at risk?": the "needs attention" band counts (and sums per
 * currency) the orders this file creates, each item links to its list, and webhook success counts
 * delivery attempts, so a delivery answered 5xx stays a failure after its redelivery is credited.
 * Serial: the band and the webhook figures are deployment-wide (checked as changes, with no other file
 * writing meanwhile), and the failed deliveries come from an app hook installed deployment-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPABASE_CALL_TIMEOUT_MS } from "../../src/db/rpc.ts";
import { installTestAppHook, removeTestAppHook } from "../support/worker/app-hook.ts";
import { cookiesSetBy, open, signIn } from "../support/worker/console.ts";
import { adminHeaders, call, seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder, deliverStripe, orderStatus, stripeScenario } from "../support/worker/stripe.ts";

/** Longer than the worker waits for one database call: the settlement commits after it answered 503. */
const SLOW_HOOK_MS = SUPABASE_CALL_TIMEOUT_MS + 1_000;

let cookie = "";
beforeAll(async () => {
  await seedPackage();
  await installTestAppHook();
  cookie = (await signIn("192.0.2.23")).cookie;
  expect(cookie).not.toBe("");
});
afterAll(removeTestAppHook);

interface BandItem {
  href: string;
  count: number;
  text: string;
}

/** The band's items on the overview page, by key, with their link, count and text. */
async function band(path = "/admin"): Promise<{ html: string; items: Record<string, BandItem> }> {
  const response = await open(path, cookie);
  expect(response.status).toBe(200);
  const html = await response.text();
  const items: Record<string, BandItem> = {};
  for (const match of html.matchAll(/<a class="attn (?:critical|warning)"([^>]*)>([\s\S]*?)<\/a>/g)) {
    const attrs = match[1] ?? "";
    const key = /id="attention-(\w+)"/.exec(attrs)?.[1] ?? "";
    items[key] = {
      href: (/href="([^"]*)"/.exec(attrs)?.[1] ?? "").replaceAll("&amp;", "&"),
      count: Number(/data-count="(\d+)"/.exec(attrs)?.[1] ?? 0),
      text: (match[2] ?? "").replace(/<[^>]+>/g, " "),
    };
  }
  return { html, items };
}

/** The amount shown for `currency` in a band item, in minor units (two decimals: USD and CNY). */
const shown = (item: BandItem | undefined, currency: string) => {
  const match = new RegExp(`([\\d,]+\\.\\d{2}) ${currency}`).exec(item?.text ?? "");
  return match?.[1] ? Math.round(Number(match[1].replaceAll(",", "")) * 100) : 0;
};

const countOf = (items: Record<string, BandItem>, key: string) => items[key]?.count ?? 0;

describe("overview: the needs-attention band", () => {
  it("counts and sums the paid-but-not-credited and in-review orders this test made, and links each item to its list", async () => {
    const before = (await band()).items;

    // Paid at Stripe 9.99 USD for a 19.99 USD order: in review, nobody credited.
    const short = await createOrder(crypto.randomUUID());
    const { deliveries } = await stripeScenario("pay", { orderId: short, amountMinor: 999, currency: "usd" });
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(short)).toBe("needs_review");
    // A WeChat Pay order of 9.90 CNY paid 1.00 CNY.
    const [cny] = await sql<{ id: string }>(
      "select (payguard.create_order($1::uuid, 'credits_cny', 'wechatpay', now())) ->> 'id' as id",
      [crypto.randomUUID()],
    );
    await sql("select payguard.apply_payment('wechatpay', $1, $2, 100, 'CNY', now(), 'webhook', now())", [
      cny?.id,
      `4200${Date.now()}`,
    ]);
    // A pending order whose last provider check failed.
    const checked = await createOrder(crypto.randomUUID());
    await sql("select payguard.note_check($1, now(), 'error', 'SYSTEM_ERROR: system busy')", [checked]);

    const { html, items } = await band();
    expect(countOf(items, "paid_not_credited") - countOf(before, "paid_not_credited")).toBe(2);
    expect(shown(items.paid_not_credited, "USD") - shown(before.paid_not_credited, "USD")).toBe(999);
    expect(shown(items.paid_not_credited, "CNY") - shown(before.paid_not_credited, "CNY")).toBe(100);
    expect(countOf(items, "in_review") - countOf(before, "in_review")).toBe(2);
    expect(shown(items.in_review, "USD") - shown(before.in_review, "USD")).toBe(1999);
    expect(shown(items.in_review, "CNY") - shown(before.in_review, "CNY")).toBe(990);
    expect(countOf(items, "check_failed") - countOf(before, "check_failed")).toBe(1);
    expect(items).toMatchObject({
      paid_not_credited: { href: "/admin/attention/not-credited" },
      in_review: { href: "/admin/orders?status=needs_review" },
      check_failed: { href: "/admin/orders?status=pending&check=failed" },
    });
    expect(items.check_failed?.text).toContain("SYSTEM_ERROR");
    // Worst first: money at risk before what only waits for a person.
    const order = Object.keys(items);
    expect(order.indexOf("paid_not_credited")).toBeLessThan(order.indexOf("in_review"));
    expect(html).not.toContain('id="attention-calm"');
    // The cards link to their lists.
    expect(html).toContain('href="/admin/incidents" id="open-incidents"');
    expect(html).toMatch(/href="\/admin\/orders\?status=needs_review&amp;from=[^"]+"/);

    const list = await (await open("/admin/attention/not-credited", cookie)).text();
    for (const id of [short, cny?.id ?? ""]) expect(list).toContain(`href="/admin/orders/${id}"`);
    expect(list).toMatch(new RegExp(`data-order="${short}"[\\s\\S]*?9\\.99 USD`));
    expect(list).not.toContain(checked);
  });

  it("shows the band in Chinese", async () => {
    const switched = await open("/admin/lang/zh?back=/admin", cookie);
    const chinese = `${cookie}; ${cookiesSetBy(switched)}`;
    const html = await (await open("/admin", chinese)).text();
    expect(html).toMatch(/需要处理|目前没有需要处理的问题/);
    expect(html).toContain("各渠道回调投递");
  });
});

interface Webhooks {
  deliveries: number;
  failed: number;
  ok: number;
  success_rate: number | null;
}

async function stripeWebhooks(): Promise<Webhooks> {
  const response = await call("/admin/api/overview?hours=1", { headers: adminHeaders() });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { webhooks_by_provider: Record<string, Webhooks> };
  return body.webhooks_by_provider.stripe ?? { deliveries: 0, failed: 0, ok: 0, success_rate: null };
}

/** A Stripe payment at the sandbox for a new user of the test hook (`broken` or slow as asked). */
async function hookPayment(hook: { broken?: boolean; delayMs?: number }) {
  const user = crypto.randomUUID();
  await sql("insert into payguard_app.hook_users (user_id, broken, delay_ms) values ($1, $2, $3)", [
    user,
    hook.broken ?? false,
    hook.delayMs ?? 0,
  ]);
  const orderId = await createOrder(user);
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
  const delivery = deliveries[0];
  if (!delivery) throw new Error("no delivery");
  return { user, orderId, delivery };
}

describe("overview: webhook success over delivery attempts", () => {
  it("a delivery answered 5xx stays a failed attempt after its redelivery is credited", async () => {
    const before = await stripeWebhooks();
    const { user, orderId, delivery } = await hookPayment({ broken: true });
    expect((await deliverStripe(delivery)).status).toBeGreaterThanOrEqual(500);
    await sql("update payguard_app.hook_users set broken = false where user_id = $1", [user]);
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");

    const after = await stripeWebhooks();
    expect(after.deliveries - before.deliveries).toBe(2);
    expect(after.failed - before.failed).toBe(1);
    expect(after.ok - before.ok).toBe(1);
    expect(after.success_rate).toBeCloseTo(after.ok / after.deliveries, 4);
    expect(after.success_rate).toBeLessThan(1);
    const page = await (await open("/admin?hours=1", cookie)).text();
    const rate = `${(Math.round((after.ok / after.deliveries) * 1000) / 10).toFixed(1)}%`;
    expect(page).toMatch(
      new RegExp(`id="webhooks-stripe"[\\s\\S]*?success-rate">${rate.replace(".", "\\.")}<`),
    );
  });

  it("a delivery answered 503 while its settlement committed later counts as a failed attempt too", async () => {
    const before = await stripeWebhooks();
    const { orderId, delivery } = await hookPayment({ delayMs: SLOW_HOOK_MS });
    expect((await deliverStripe(delivery)).status).toBeGreaterThanOrEqual(500);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await deliverStripe(delivery)).status).toBe(200);

    const after = await stripeWebhooks();
    expect(after.deliveries - before.deliveries).toBe(2);
    expect(after.failed - before.failed).toBe(1);
  });
});

describe("overview: the admin API", () => {
  it("carries the band's figures and the not-credited list", async () => {
    const overview = (await (
      await call("/admin/api/overview?hours=24", { headers: adminHeaders() })
    ).json()) as {
      attention: Record<string, { count: number }>;
    };
    expect(Object.keys(overview.attention).sort()).toEqual(
      [
        "app_hook_failed",
        "check_failed",
        "critical_incidents",
        "in_review",
        "inbox",
        "paid_not_credited",
      ].sort(),
    );
    const list = await call("/admin/api/overview/not-credited", { headers: adminHeaders() });
    expect(list.status).toBe(200);
    expect(await list.json()).toHaveProperty("payments");
    expect((await call("/admin/api/overview/not-credited")).status).toBe(401);
  });
});
