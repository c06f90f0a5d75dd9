import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { follow } from "../support/worker/console.ts";
import { adminActionsWithReason, BASE_URL, call, seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";
import { seedPlan, settleHistory } from "../support/worker/subscriptions.ts";

beforeAll(seedPackage);

const ORIGIN = new URL(BASE_URL).origin;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** Each sign-in comes from its own address unless a test says otherwise: the throttle counts per address. */
let addresses = 0;
const someAddress = () => `198.51.100.${++addresses}`;

async function login(
  token = env.ADMIN_TOKEN,
  address = someAddress(),
): Promise<{ cookie: string; setCookie: string; status: number }> {
  const response = await call("/admin/login", {
    method: "POST",
    headers: {
      origin: ORIGIN,
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": address,
    },
    body: form({ token }),
    redirect: "manual",
  });
  const setCookie = response.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0] ?? "", setCookie, status: response.status };
}

const page = (path: string, cookie: string) => call(path, { headers: { cookie }, redirect: "manual" });

async function csrfOf(path: string, cookie: string): Promise<string> {
  const html = await (await page(path, cookie)).text();
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no csrf token on ${path}`);
  return match[1];
}

const submit = (path: string, cookie: string, fields: Record<string, string>, origin = ORIGIN) =>
  call(path, {
    method: "POST",
    headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
    body: form(fields),
    redirect: "manual",
  });

async function paidOrderWithoutWebhook() {
  const user = crypto.randomUUID();
  const orderId = await createOrder(user);
  const paid = (await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" })) as unknown as {
    sessionId: string;
  };
  await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
  return { user, orderId };
}

describe("dashboard sign-in", () => {
  it("sends pages to the login form without a session, and refuses a wrong token", async () => {
    const response = await page("/admin/orders", "");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Forders");
    expect(await login("wrong-token-0123456789abcdef")).toMatchObject({ status: 303, setCookie: "" });
  });

  it("refuses an address's 11th attempt in a minute, even with the right token; other addresses still sign in", async () => {
    const guesser = "203.0.113.77";
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await login(`guess-${attempt}-0123456789abcdef`, guesser)).status).toBe(303);
    }
    const refused = await login(env.ADMIN_TOKEN, guesser);
    expect(refused).toMatchObject({ status: 429, setCookie: "" });
    expect((await login()).setCookie).toMatch(/HttpOnly/);
  });

  it("issues an HttpOnly, Secure, SameSite=Strict, __Host- session cookie, and rejects a tampered one", async () => {
    const { setCookie, cookie } = await login();
    expect(setCookie).toMatch(/^__Host-payguard_admin=/);
    expect(setCookie).toMatch(/Path=\/;/);
    expect(setCookie).not.toMatch(/Domain=/i);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect((await page("/admin/orders", cookie)).status).toBe(200);
    const [name, value = ""] = cookie.split("=");
    const tampered = `${name}=${value[0] === "e" ? "f" : "e"}${value.slice(1)}`;
    expect((await page("/admin/orders", tampered)).status).toBe(303);
  });

  it("speaks Chinese after the language switch", async () => {
    const { cookie } = await login();
    const switched = await page("/admin/lang/zh?back=/admin/orders", cookie);
    expect(switched.headers.get("location")).toBe("/admin/orders");
    const lang = (switched.headers.get("set-cookie") ?? "").split(";")[0];
    const html = await (await page("/admin/orders", `${cookie}; ${lang}`)).text();
    expect(html).toContain("订单");
    expect((await page("/admin/lang/zh?back=https://evil.example", cookie)).headers.get("location")).toBe(
      "/admin",
    );
  });
});

describe("dashboard forms", () => {
  it("refuses a POST without the CSRF token, with a wrong one, or from another origin, doing nothing", async () => {
    const { orderId } = await paidOrderWithoutWebhook();
    const { cookie } = await login();
    const csrf = await csrfOf(`/admin/orders/${orderId}`, cookie);
    const path = `/admin/orders/${orderId}/sync`;
    expect((await submit(path, cookie, { reason: "no token here" })).status).toBe(403);
    expect((await submit(path, cookie, { reason: "wrong token", csrf: `${csrf}x` })).status).toBe(403);
    expect((await submit(path, cookie, { reason: "other site", csrf }, "https://evil.example")).status).toBe(
      403,
    );
    const other = await login();
    expect((await submit(path, other.cookie, { reason: "other session", csrf })).status).toBe(403);
    expect(await sql("select 1 from payguard.admin_actions where order_id = $1", [orderId])).toEqual([]);
  });

  it("syncs from the order page, attributed to the signed-in token", async () => {
    const { user, orderId } = await paidOrderWithoutWebhook();
    const { cookie } = await login();
    const csrf = await csrfOf(`/admin/orders/${orderId}`, cookie);
    const response = await submit(`/admin/orders/${orderId}/sync`, cookie, { reason: "webhook lost", csrf });
    expect(response.headers.get("location")).toBe(`/admin/orders/${orderId}`);
    expect((await ledgerOf(user)).balance).toBe(100);
    const html = await follow(response, cookie);
    expect(html).toContain("Done: credited (fulfilled)");
    expect(html).toContain("admin_sync");
    // The flash line is shown once: a reload shows the page without it.
    expect(await (await page(`/admin/orders/${orderId}`, cookie)).text()).not.toContain(
      "Done: credited (fulfilled)",
    );
    expect(
      await sql("select actor, reason from payguard.admin_actions where order_id = $1", [orderId]),
    ).toEqual([{ actor: "admin", reason: "webhook lost" }]);
  });

  it("asks for confirmation before a refund and only refunds once confirmed", async () => {
    const { user, orderId } = await paidOrderWithoutWebhook();
    const { cookie } = await login();
    let csrf = await csrfOf(`/admin/orders/${orderId}`, cookie);
    await submit(`/admin/orders/${orderId}/sync`, cookie, { reason: "webhook lost", csrf });
    csrf = await csrfOf(`/admin/orders/${orderId}`, cookie);
    const fields = { reason: "half back", amount: "10.00", csrf };
    const asked = await submit(`/admin/orders/${orderId}/refund`, cookie, fields);
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain('name="confirm" value="1"');
    expect((await ledgerOf(user)).balance).toBe(100);
    // `seen`: the refunded amount the confirmation page previewed (none yet).
    const confirmed = await submit(`/admin/orders/${orderId}/refund`, cookie, {
      ...fields,
      seen: "0",
      confirm: "1",
    });
    expect(confirmed.headers.get("location")).toBe(`/admin/orders/${orderId}`);
    expect(await follow(confirmed, cookie)).toContain("Done: partially refunded (partially_refunded)");
    expect((await ledgerOf(user)).balance).toBe(50);
  });

  it("goes back with the problem when a form is invalid, writing nothing", async () => {
    const { cookie } = await login();
    const csrf = await csrfOf("/admin/jobs", cookie);
    const response = await submit("/admin/jobs/reconcile/run", cookie, { reason: "x!", csrf });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/admin/jobs");
    expect(await follow(response, cookie)).toContain("Failed: invalid reason");
    expect(await adminActionsWithReason("x!")).toEqual([{ n: 0 }]);
  });
});

/** The visible text of one invoice's row on the user page. */
function invoiceRow(html: string, invoice: string): string {
  const at = html.indexOf(`data-invoice="${invoice}"`);
  if (at < 0) return "";
  const start = html.indexOf(">", at) + 1;
  return html
    .slice(start, html.indexOf("</tr>", start))
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

describe("user page", () => {
  it("lists a user's subscriptions and every invoice with its grant, linked both ways with the user's orders", async () => {
    const user = crypto.randomUUID();
    const plan = await seedPlan("console_reset_monthly", { name: "Reset", expiry: "reset" });
    const { older, newer } = await settleHistory(user, plan);
    const { cookie } = await login();
    const response = await page(`/admin/users/${user}`, cookie);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`href="/admin/orders?user=${user}"`);
    // Newest first, each with its plan, status, period and cancel-at-period-end.
    expect(html.indexOf(`id="subscription-${newer.id}"`)).toBeGreaterThan(0);
    expect(html.indexOf(`id="subscription-${newer.id}"`)).toBeLessThan(
      html.indexOf(`id="subscription-${older.id}"`),
    );
    const olderSection = html.slice(html.indexOf(`id="subscription-${older.id}"`));
    expect(olderSection).toMatch(/Status<\/th><td><span class="status">canceled<\/span>/);
    expect(olderSection).toMatch(/Cancels at period end<\/th><td>yes</);
    const newerSection = html.slice(
      html.indexOf(`id="subscription-${newer.id}"`),
      html.indexOf(`id="subscription-${older.id}"`),
    );
    expect(newerSection).toMatch(/Status<\/th><td><span class="status ok">active<\/span>/);
    expect(newerSection).toMatch(/Cancels at period end<\/th><td>no</);
    expect(olderSection).toContain(`href="/admin/runbook?repair_ref=${older.id}#repair-form"`);
    const runbook = await (await page(`/admin/runbook?repair_ref=${older.id}`, cookie)).text();
    expect(runbook).toContain(`>${older.id}</textarea>`);
    // Invoice, reason, period, amount paid, credits by the rule and the rule, granted, expired, the order.
    expect(invoiceRow(html, older.created)).toMatch(
      new RegExp(`^${older.created} first payment .+ → .+ 10\\.00 USD 100 full period 100 100 fulfilled$`),
    );
    expect(invoiceRow(html, older.renewal)).toMatch(
      / renewal .+ 10\.00 USD 100 full period 100 0 fulfilled$/,
    );
    expect(invoiceRow(html, older.downgrade)).toMatch(
      / plan change .+ 0\.00 USD 0 proration: nothing due 0 0 no grant$/,
    );
    expect(html).toContain(`href="/admin/orders/${older.created}"`);

    // The order page links its user here; the orders list filtered by that user does too.
    const order = await (await page(`/admin/orders/${older.renewal}`, cookie)).text();
    expect(order).toContain(`href="/admin/users/${user}"`);
    const orders = await (await page(`/admin/orders?user=${user}`, cookie)).text();
    expect(orders).toMatch(new RegExp(`id="orders"[\\s\\S]*${older.renewal}`));
    expect(orders).toContain(`href="/admin/users/${user}"`);
  });

  it("says so for a user without subscriptions; an id that is no UUID is the 404 page; signed out goes to sign-in and back", async () => {
    const user = crypto.randomUUID();
    const { cookie } = await login();
    const empty = await page(`/admin/users/${user}`, cookie);
    expect(empty.status).toBe(200);
    const html = await empty.text();
    expect(html).toContain('id="no-subscriptions"');
    expect(html).toContain(`href="/admin/orders?user=${user}"`);
    for (const bad of ["not-a-uuid", `${user}x`, "1"]) {
      const missing = await page(`/admin/users/${bad}`, cookie);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("content-type")).toMatch(/^text\/html/);
    }
    const signedOut = await page(`/admin/users/${user}`, "");
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("location")).toBe(`/admin/login?next=%2Fadmin%2Fusers%2F${user}`);
  });
});
