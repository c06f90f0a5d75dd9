import { beforeAll, describe, expect, it } from "vitest";
import { installTestAppHook } from "../support/worker/app-hook.ts";
import { cookiesSetBy, csrfOf, follow, ORIGIN, open, signIn, submit } from "../support/worker/console.ts";
import { adminHeaders, call, seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder, deliverStripe, orderStatus, stripeScenario } from "../support/worker/stripe.ts";

beforeAll(seedPackage);

let addresses = 0;
const signedIn = async () => (await signIn(`198.51.100.${200 + ++addresses}`)).cookie;
const pagePath = (key: string) => `/admin/incidents/${encodeURIComponent(key)}`;

/** The session cookie plus the language cookie the header's switch sets. */
async function inChinese(cookie: string): Promise<string> {
  const switched = await open("/admin/lang/zh?back=/admin", cookie);
  return `${cookie}; ${cookiesSetBy(switched)}`;
}

/** A Stripe payment of 9.99 for a 19.99 order, delivered as Stripe would: the order goes to review. */
async function wrongAmountPayment(): Promise<string> {
  const orderId = await createOrder(crypto.randomUUID());
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 999, currency: "usd" });
  for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
  expect(await orderStatus(orderId)).toBe("needs_review");
  return orderId;
}

const incidentRow = async (key: string) =>
  (
    await sql<{ status: string; acknowledged_by: string | null; muted_until: string | null }>(
      "select status, acknowledged_by, muted_until::text from payguard.incidents where key = $1 order by id desc limit 1",
      [key],
    )
  )[0];

const actionsOn = (key: string) =>
  sql<{ action: string; actor: string; reason: string; outcome: string }>(
    "select action, actor, reason, outcome from payguard.admin_actions where target = $1 order by id",
    [key],
  );

describe("the incident page an alert links to", () => {
  it("shows a review incident raised by a wrong-amount payment, in English and Chinese, with its next actions", async () => {
    const orderId = await wrongAmountPayment();
    const key = `needs_review:${orderId}`;
    const cookie = await signedIn();
    const response = await open(pagePath(key), cookie);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(
      `Order ${orderId} needs review: payment 9.99 USD (+0.00 USD discount) via Stripe does not match the order&#39;s 19.99 USD via Stripe`,
    );
    expect(html).toMatch(/<span class="status critical nowrap">critical<\/span>/);
    expect(html).toContain('id="fact-first-seen"');
    expect(html).toMatch(/ago<\/span>/);
    // The linked order with its amount and status, and the cause from the detail.
    expect(html).toContain(`<a href="/admin/orders/${orderId}"><code>${orderId}</code></a>`);
    expect(html).toMatch(/class="num nowrap order-amount">19\.99 USD</);
    expect(html).toContain(
      "payment 999 (+0 discount) USD via stripe does not match order 1999 USD via stripe",
    );
    expect(html).toContain("Paid twice: keep the first payment and refund the other one.");
    // One-click next actions that fit a review.
    expect(html).toContain(`action="/admin/orders/${orderId}/sync"`);
    expect(html).toContain(`value="from incident ${key}"`);
    expect(html).toContain(`href="/admin/orders/${orderId}#review"`);
    expect(html).toContain(`href="/admin/orders/${orderId}#refund-extra"`);
    expect(html).toContain('action="/admin/incidents/acknowledge"');
    for (const minutes of ["60", "240", "1440"]) expect(html).toContain(`name="minutes" value="${minutes}"`);
    expect(html).toContain('action="/admin/incidents/resolve"');
    expect(html).toMatch(/<details id="incident-detail">[\s\S]*&quot;reason&quot;/);

    const zh = await (await open(pagePath(key), await inChinese(cookie))).text();
    expect(zh).toContain(
      `订单 ${orderId} 待审核：付款 9.99 USD（优惠 0.00 USD，Stripe）与订单 19.99 USD（Stripe）不符`,
    );
    expect(zh).toMatch(/<span class="status critical nowrap">严重<\/span>/);
    expect(zh).toContain("重复支付：保留第一笔，退还另一笔。");
    expect(zh).toContain("下一步操作");
    expect(zh).not.toContain("What to do");
  });

  it("acknowledges without a typed reason, mutes for 4 h and resolves, each back on the page with its outcome", async () => {
    const orderId = await wrongAmountPayment();
    const key = `needs_review:${orderId}`;
    const cookie = await signedIn();
    const back = pagePath(key);

    let csrf = await csrfOf(back, cookie);
    const acknowledged = await submit("/admin/incidents/acknowledge", cookie, { csrf, key, back });
    expect(acknowledged.status).toBe(303);
    expect(acknowledged.headers.get("location")).toBe(back);
    const after = await follow(acknowledged, cookie);
    expect(after).toContain("Done: acknowledged");
    expect(after).not.toContain('id="acknowledge-form"');
    expect((await incidentRow(key))?.acknowledged_by).toBe("admin");

    csrf = await csrfOf(back, cookie);
    const before = Date.now();
    const muted = await submit("/admin/incidents/mute", cookie, {
      csrf,
      key,
      back,
      minutes: "240",
      note: "fixing it",
    });
    expect(await follow(muted, cookie)).toContain("Done: muted");
    const until = Date.parse((await incidentRow(key))?.muted_until ?? "");
    expect(until).toBeGreaterThanOrEqual(before + 240 * 60_000 - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 240 * 60_000 + 1000);

    csrf = await csrfOf(back, cookie);
    const resolved = await submit("/admin/incidents/resolve", cookie, { csrf, key, back });
    const page = await follow(resolved, cookie);
    expect(page).toContain("Done: resolved");
    expect(page).toContain("This incident is resolved.");
    expect((await incidentRow(key))?.status).toBe("resolved");
    expect(await actionsOn(key)).toEqual([
      {
        action: "incident_acknowledge",
        actor: "admin",
        reason: "acknowledged in the console",
        outcome: "acknowledged",
      },
      {
        action: "incident_mute",
        actor: "admin",
        reason: "muted in the console: fixing it",
        outcome: "muted",
      },
      { action: "incident_resolve", actor: "admin", reason: "resolved in the console", outcome: "resolved" },
    ]);
  });

  it("explains an app hook failure whose order was rolled back, with the app's error, instead of a 404 link", async () => {
    const user = crypto.randomUUID();
    const orderId = `ord_hook_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
    await installTestAppHook();
    await sql("insert into payguard_app.hook_users (user_id, broken) values ($1, true)", [user]);
    const { deliveries } = await stripeScenario("pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
      metadata: { user_id: user, package_id: "credits_100" },
    });
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    await installTestAppHook(); // again: another suite may have dropped the shared hook meanwhile
    expect((await deliverStripe(delivery)).status).toBeGreaterThanOrEqual(500);
    expect(await orderStatus(orderId)).toBeNull();

    const key = `app_hook_failed:${orderId}`;
    const cookie = await signedIn();
    const html = await (await open(pagePath(key), cookie)).text();
    expect(html).toContain(`Order ${orderId}: the app hook payguard_app.on_settled failed`);
    expect(html).toContain(`Order ${orderId} is not stored`);
    expect(html).toContain("the app refuses this change");
    expect(html).not.toContain(`href="/admin/orders/${orderId}"`);
    expect(html).toContain('href="/admin/runbook#replay-form"');
    // The overview's "app hook failed" link: the list of that kind only.
    const ofKind = await (await open("/admin/incidents?kind=app_hook_failed", cookie)).text();
    expect(ofKind).toContain(`<tr data-key="${key}"`);
    expect(ofKind).not.toContain('<tr data-key="needs_review:');

    const api = await call(`/admin/api/incidents/${encodeURIComponent(key)}`, { headers: adminHeaders() });
    expect(api.status).toBe(200);
    const body = (await api.json()) as Record<string, unknown> & {
      incident: { key: string; severity: string; detail: { error: string } };
      title: { en: string; zh: string };
    };
    expect(body).toMatchObject({
      incident: { key, severity: "critical" },
      orders: [],
      missing_orders: [orderId],
      actions: ["replay_events", "sync_order"],
    });
    expect(body.incident.detail.error).toContain("the app refuses this change");
    expect(body.title.zh).toContain("应用钩子");
  });

  it("answers an unknown or malformed key with the dashboard's HTML 404, and the API with JSON", async () => {
    const cookie = await signedIn();
    for (const path of [
      pagePath(`needs_review:ord_never_${crypto.randomUUID()}`),
      "/admin/incidents/%3Cscript%3E",
    ]) {
      const response = await open(path, cookie);
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    }
    const unknown = await call(`/admin/api/incidents/${encodeURIComponent("needs_review:ord_never_1")}`, {
      headers: adminHeaders(),
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "not_found" });
    expect((await call("/admin/api/incidents/needs_review%3Aord_x")).status).toBe(401);
    expect((await call("/admin/api/incidents/%3Cscript%3E", { headers: adminHeaders() })).status).toBe(400);
  });
});

describe("incidents triage", () => {
  const raise = (key: string, kind: string, severity: string, detail: Record<string, unknown>) =>
    sql("select payguard.open_incident($1, $2, $3, $4, $5::jsonb, now())", [
      key,
      kind,
      severity,
      `summary ${key}`,
      detail,
    ]);

  it("sorts worst then oldest, groups by order, merges the audit's copy, filters, and acknowledges or mutes in bulk", async () => {
    const quiet = await createOrder(crypto.randomUUID());
    await raise(`late_payment:${quiet}`, "late_payment", "warning", { order_id: quiet, status: "fulfilled" });
    const first = await wrongAmountPayment();
    const second = await wrongAmountPayment();
    // What the hourly audit raises for an order still in review, and a second incident of that order.
    await raise(`audit:needs_review:${first}`, "audit_needs_review", "warning", {
      subject: first,
      reason: "r",
    });
    await raise(`created_from_metadata:${first}`, "created_from_metadata", "warning", { order_id: first });

    // The list is shared with every other suite and shows the worst, then the oldest, first: date this
    // test's incidents a month back (keeping their order), so they are the oldest of their severity and on
    // the page whatever the others left open.
    await sql(
      `update payguard.incidents set opened_at = opened_at - interval '30 days',
              last_seen_at = last_seen_at - interval '30 days'
        where status = 'open' and key = any($1::text[])`,
      [
        [
          `late_payment:${quiet}`,
          `needs_review:${first}`,
          `needs_review:${second}`,
          `audit:needs_review:${first}`,
          `created_from_metadata:${first}`,
        ],
      ],
    );
    const cookie = await signedIn();
    const html = await (await open("/admin/incidents", cookie)).text();
    const rowAt = (key: string) => html.indexOf(`<tr data-key="${key}"`);
    const order = [
      `needs_review:${first}`,
      `created_from_metadata:${first}`,
      `needs_review:${second}`,
      `late_payment:${quiet}`,
    ].map(rowAt);
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // One order's incidents under the order, its amount shown; the audit copy on the fact's row only.
    const group = html.slice(html.indexOf(`<tbody data-group="${first}">`), rowAt(`needs_review:${second}`));
    expect(group).toContain(`<a href="/admin/orders/${first}"><code>${first}</code></a>`);
    expect(group).toContain("19.99 USD");
    expect(group).toContain(`Also seen by the audit: <a href="${pagePath(`audit:needs_review:${first}`)}">`);
    expect(rowAt(`audit:needs_review:${first}`)).toBe(-1);
    expect(html).toContain(`href="${pagePath(`needs_review:${first}`)}"`);
    expect(html).toMatch(/<td data-label="Open for" class="age"><time datetime="[^"]+">[^<]+ ago<\/time>/);

    const critical = await (await open("/admin/incidents?severity=critical", cookie)).text();
    expect(critical).toContain(`<tr data-key="needs_review:${first}"`);
    expect(critical).not.toContain(`<tr data-key="late_payment:${quiet}"`);

    const zh = await (await open("/admin/incidents", await inChinese(cookie))).text();
    expect(zh).toContain("审计也发现了同一问题");
    expect(zh).toContain(`订单 ${second} 待审核`);

    // Bulk: the checked rows, one form, no reason; the audit's copy of a fact goes with it.
    let csrf = await csrfOf("/admin/incidents", cookie);
    const body = new URLSearchParams({ csrf, back: "/admin/incidents?severity=critical" });
    body.append("key", `needs_review:${first}`);
    body.append("key", `needs_review:${second}`);
    const bulk = await call("/admin/incidents/acknowledge", {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      redirect: "manual",
    });
    expect(bulk.headers.get("location")).toBe("/admin/incidents?severity=critical");
    expect(await follow(bulk, cookie)).toContain("Done: 2 acknowledged");
    for (const key of [`needs_review:${first}`, `needs_review:${second}`, `audit:needs_review:${first}`])
      expect((await incidentRow(key))?.acknowledged_by, key).toBe("admin");

    csrf = await csrfOf("/admin/incidents", cookie);
    const muted = await submit("/admin/incidents/mute", cookie, {
      csrf,
      key: `late_payment:${quiet}`,
      minutes: "60",
    });
    expect(await follow(muted, cookie)).toContain("Done: muted");
    expect((await incidentRow(`late_payment:${quiet}`))?.muted_until).not.toBeNull();
  });
});
