/**
 * The runbook actions of the admin API in workerd, against the stand-in and the sandbox over HTTP:
 * repair from provider references alone, batch replay of failed or stuck inbox events, the sales switch.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { userToken } from "../support/worker/auth.ts";
import { adminActionsWithReason, BASE_URL, call, seedPackage, sql } from "../support/worker/harness.ts";
import {
  createOrder,
  deliverStripe,
  inboxCount,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";
import {
  billedAtSandbox,
  renewAtSandbox,
  sandboxSubscription,
  seedPlan,
  subscribeAtSandbox,
} from "../support/worker/subscriptions.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

const CI_TOKEN = "test-ci-admin-token-0123456789";
const REASON = "runbook: payments without orders";
const actionsWithReason = () => adminActionsWithReason(REASON);

const post = (path: string, body: unknown) =>
  call(`/admin/api${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${CI_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

interface Batch<R> {
  dryRun: boolean;
  summary: Record<string, number>;
  results: R[];
}
type RefReport = {
  ref: string;
  outcome: string;
  orderId: string | null;
  credits: number | null;
  detail?: string;
};

async function repair(refs: string[], dryRun = false): Promise<Batch<RefReport>> {
  const response = await post("/repair", { reason: REASON, refs, dryRun });
  expect(response.status).toBe(200);
  return (await response.json()) as Batch<RefReport>;
}

const newOrderId = () => `ord_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;

/** Paid at Stripe for an order payguard never wrote; every delivery dropped. */
async function stripePaidWithoutOrder(user: string, packageId = "credits_100", amountMinor = 1999) {
  const orderId = newOrderId();
  const paid = (await stripeScenario("pay", {
    orderId,
    amountMinor,
    currency: "usd",
    metadata: { user_id: user, package_id: packageId },
  })) as unknown as { sessionId: string; paymentIntentId: string };
  return { orderId, ...paid };
}

/** Paid at WeChat Pay for an order payguard never wrote; the notification dropped. */
async function wechatPaidWithoutOrder(user: string) {
  const orderId = newOrderId();
  const attach = JSON.stringify({ user_id: user, package_id: "credits_cny", order_id: orderId });
  const paid = (await wechatScenario("pay", { orderId, amountMinor: 990, attach })) as unknown as {
    transactionId: string;
  };
  return { orderId, transactionId: paid.transactionId };
}

const ordersOf = async (ids: string[]) =>
  sql<{ id: string; status: string; source: string }>(
    "select id, status, source from payguard.payment_orders where id = any($1::text[]) order by id",
    [ids],
  );

beforeAll(seedPackage);

describe("repair from provider references", () => {
  it("credits 20 Stripe and 20 WeChat Pay payments whose orders were never written, once each; the dry run and a second run change nothing", async () => {
    const users = Array.from({ length: 40 }, () => crypto.randomUUID());
    const stripe = await Promise.all(users.slice(0, 20).map((user) => stripePaidWithoutOrder(user)));
    const wechat = await Promise.all(users.slice(20).map((user) => wechatPaidWithoutOrder(user)));
    // Each kind of reference: Checkout Session, PaymentIntent, WeChat transaction_id, out_trade_no.
    const refs = [
      ...stripe.map((p, i) => (i % 2 ? p.sessionId : p.paymentIntentId)),
      ...wechat.map((p, i) => (i % 2 ? p.orderId : p.transactionId)),
    ];
    const orderIds = [...stripe, ...wechat].map((p) => p.orderId);
    const inboxBefore = await inboxCount();

    const dry = await repair(refs, true);
    expect(dry.summary).toEqual({ would_rebuild: 40 });
    expect(dry.results.every((r) => r.credits === 100)).toBe(true);
    expect(await ordersOf(orderIds)).toEqual([]);
    for (const user of users) expect((await ledgerOf(user)).balance).toBe(0);

    const done = await repair(refs);
    expect(done.summary).toEqual({ created_from_metadata: 40 });
    expect(done.results.every((r) => r.credits === 100)).toBe(true);
    expect(done.results.map((r) => r.orderId).sort()).toEqual([...orderIds].sort());
    const written = await ordersOf(orderIds);
    expect(written).toHaveLength(40);
    expect(written.every((o) => o.status === "fulfilled" && o.source === "admin")).toBe(true);
    for (const user of users) {
      const ledger = await ledgerOf(user);
      expect(ledger).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
    }

    const again = await repair(refs);
    expect(again.summary).toEqual({ already_fulfilled: 40 });
    for (const user of users) expect((await ledgerOf(user)).balance).toBe(100);
    expect(await inboxCount()).toBe(inboxBefore);

    const recorded = await sql<{ action: string; actor: string; outcome: string }>(
      `select action, actor, outcome from payguard.admin_actions
        where action like 'repair_refs%' and detail::text like $1 order by id`,
      [`%${refs[0]}%`],
    );
    expect(recorded).toEqual([
      { action: "repair_refs_dry_run", actor: "ci", outcome: "dry_run" },
      { action: "repair_refs", actor: "ci", outcome: "repaired" },
      { action: "repair_refs", actor: "ci", outcome: "repaired" },
    ]);
  });

  it("says per reference what it found: a stored order whose callback was lost, unpaid, unknown, no stock, mis-charged", async () => {
    const user = crypto.randomUUID();
    const stored = await createOrder(user);
    const paid = (await stripeScenario("pay", {
      orderId: stored,
      amountMinor: 1999,
      currency: "usd",
    })) as unknown as {
      sessionId: string;
    };
    await sql("select payguard.set_provider_ref($1, $2, now())", [stored, paid.sessionId]);
    const unpaid = (await stripeScenario("abandon", { orderId: newOrderId() })) as unknown as {
      sessionId: string;
    };
    await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
      values ('retired_usd', 'old', 1999, 'USD', 100, false) on conflict (id) do nothing`);
    const retired = await stripePaidWithoutOrder(crypto.randomUUID(), "retired_usd");
    const underpaid = await stripePaidWithoutOrder(crypto.randomUUID(), "credits_100", 999);
    const refs = [
      paid.sessionId,
      unpaid.sessionId,
      "cs_test_nothing_here",
      "ord_never_at_wechat_000001",
      retired.sessionId,
      underpaid.paymentIntentId,
    ];

    const dry = await repair(refs, true);
    expect(dry.results.map((r) => r.outcome)).toEqual([
      "would_credit",
      "not_paid",
      "not_found",
      "not_found",
      "would_review",
      "would_review",
    ]);
    expect(dry.results[0]).toMatchObject({ orderId: stored, credits: 100 });
    expect(dry.results[5]).toMatchObject({ detail: "amount differs" });
    expect(await orderStatus(stored)).toBe("pending");

    const done = await repair(refs);
    expect(done.results.map((r) => r.outcome)).toEqual([
      "fulfilled",
      "not_paid",
      "not_found",
      "not_found",
      "needs_review",
      "mismatch",
    ]);
    expect(await orderStatus(stored)).toBe("fulfilled");
    expect(await orderStatus(underpaid.orderId)).toBe("needs_review");
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await orderStatus(retired.orderId)).toBe("needs_review");
  });

  it("refuses a bad batch with 400 and writes nothing", async () => {
    const before = await actionsWithReason();
    const tooMany = Array.from({ length: 101 }, (_, i) => `cs_test_${i}_xxxxxx`);
    for (const body of [
      { reason: REASON, refs: tooMany },
      { reason: REASON, refs: [] },
      { reason: REASON, refs: ["not a ref!"] },
      { refs: ["cs_test_123456"] },
    ]) {
      expect((await post("/repair", body)).status).toBe(400);
    }
    const unauthorized = await call("/admin/api/repair", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: REASON, refs: ["cs_test_123456"] }),
    });
    expect(unauthorized.status).toBe(401);
    expect(await actionsWithReason()).toEqual(before);
  });
});

const subscriptionsOf = (ids: string[]) =>
  sql<{ id: string; user_id: string; status: string }>(
    "select id, user_id::text, status from payguard.subscriptions where id = any($1::text[]) order by id",
    [ids],
  );
const outcomes = (batch: Batch<RefReport>) => batch.results.map((r) => [r.outcome, r.orderId, r.credits]);

describe("repair from Stripe Billing references", () => {
  it("grants a subscription's invoice (in_…) and a subscription's latest invoice (sub_…) whose webhooks were all lost, once each; the dry run settles nothing, a second run changes nothing", async () => {
    const plan = await billedAtSandbox(await seedPlan("runbook_monthly"));
    const [userA, userB] = [crypto.randomUUID(), crypto.randomUUID()];
    const a = await subscribeAtSandbox(userA, plan);
    const b = await subscribeAtSandbox(userB, plan);
    const refs = [a.invoiceId, b.subscriptionId];
    const invoices = [a.invoiceId, b.invoiceId];

    const dry = await repair(refs, true);
    expect(outcomes(dry)).toEqual([
      ["would_settle_invoice", null, null],
      ["would_settle_invoice", null, null],
    ]);
    expect(dry.results[1]?.detail).toContain(b.invoiceId);
    expect(await ordersOf(invoices)).toEqual([]);
    expect(await subscriptionsOf([a.subscriptionId, b.subscriptionId])).toEqual([]);
    expect((await ledgerOf(userA)).balance).toBe(0);

    const done = await repair(refs);
    expect(outcomes(done)).toEqual([
      ["fulfilled", a.invoiceId, 100],
      ["fulfilled", b.invoiceId, 100],
    ]);
    for (const user of [userA, userB])
      expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
    const written = await ordersOf(invoices);
    expect(written.map((o) => [o.status, o.source])).toEqual([
      ["fulfilled", "admin"],
      ["fulfilled", "admin"],
    ]);
    // Refunds and disputes of a renewal name its PaymentIntent: the grant carries it.
    const [grant] = await sql<{ payment_ref: string }>(
      "select payment_ref from payguard.payment_orders where id = $1",
      [a.invoiceId],
    );
    expect(grant?.payment_ref).toBe(a.paymentIntentId);
    expect(
      (await subscriptionsOf([a.subscriptionId, b.subscriptionId])).map((s) => s.user_id).sort(),
    ).toEqual([userA, userB].sort());

    const again = await repair(refs);
    expect(again.results.map((r) => r.outcome)).toEqual(["already_fulfilled", "duplicate"]);
    for (const user of [userA, userB]) expect((await ledgerOf(user)).balance).toBe(100);
    const recorded = await sql<{ action: string; outcome: string }>(
      `select action, outcome from payguard.admin_actions
        where action like 'repair_refs%' and detail::text like $1 order by id`,
      [`%${a.invoiceId}%`],
    );
    expect(recorded).toEqual([
      { action: "repair_refs_dry_run", outcome: "dry_run" },
      { action: "repair_refs", outcome: "repaired" },
      { action: "repair_refs", outcome: "repaired" },
    ]);
  });

  it("settles a lost renewal from its subscription, says not_paid for a declined one (recording the subscription's state) and not_found for unknown references", async () => {
    const plan = await billedAtSandbox(await seedPlan("runbook_monthly"));
    const user = crypto.randomUUID();
    const { subscriptionId } = await subscribeAtSandbox(user, plan);
    expect((await repair([subscriptionId])).results[0]?.outcome).toBe("fulfilled");

    const renewal = await renewAtSandbox(subscriptionId);
    const dry = await repair([subscriptionId], true);
    expect(dry.results[0]).toMatchObject({ outcome: "would_settle_invoice" });
    expect(dry.results[0]?.detail).toContain(renewal.invoiceId);
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(outcomes(await repair([subscriptionId]))).toEqual([["fulfilled", renewal.invoiceId, 100]]);
    expect((await ledgerOf(user)).balance).toBe(200);

    const declined = await renewAtSandbox(subscriptionId, "failed");
    const unknown = ["in_nothing_here_000001", "sub_nothing_here_000001"];
    const refs = [subscriptionId, declined.invoiceId, ...unknown];
    expect((await repair(refs, true)).results.map((r) => r.outcome)).toEqual([
      "not_paid",
      "not_paid",
      "not_found",
      "not_found",
    ]);
    expect((await repair(refs)).results.map((r) => r.outcome)).toEqual([
      "subscription_synced",
      "not_paid",
      "not_found",
      "not_found",
    ]);
    expect((await ledgerOf(user)).balance).toBe(200);
    const [stored] = await subscriptionsOf([subscriptionId]);
    expect(stored?.status).toBe((await sandboxSubscription(subscriptionId)).status);
    expect(stored?.status).not.toBe("active");
  });
});

type ReplayReport = { eventId: string; outcome: string; orderId: string | null };

async function replay(filter: Record<string, unknown>, dryRun = false): Promise<Batch<ReplayReport>> {
  const response = await post("/inbox/replay", { reason: "replay after the outage", ...filter, dryRun });
  expect(response.status).toBe(200);
  return (await response.json()) as Batch<ReplayReport>;
}

const inboxRow = async (provider: string, eventId: string) =>
  (
    await sql<{ status: string }>(
      "select status from payguard.webhook_events where provider = $1 and event_id = $2",
      [provider, eventId],
    )
  )[0]?.status;

describe("batch replay of the inbox", () => {
  it("replays failed Stripe events (fetched by id) and stuck WeChat notifications (order queried) in a window; dry run first", async () => {
    // A window of its own in the past, so events other suites record stay out of it.
    const windowStart = Date.parse("2026-01-05T00:00:00Z") + Math.floor(Math.random() * 400_000) * 60_000;
    const at = (minutes: number) => new Date(windowStart + minutes * 60_000).toISOString();
    const window = { from: at(0), to: at(60) };

    const stripeUser = crypto.randomUUID();
    const stripeOrder = await createOrder(stripeUser);
    const paid = (await stripeScenario("pay", {
      orderId: stripeOrder,
      amountMinor: 1999,
      currency: "usd",
    })) as unknown as {
      sessionId: string;
      eventIds: string[];
    };
    await sql("select payguard.set_provider_ref($1, $2, now())", [stripeOrder, paid.sessionId]);
    const stripeEvent = paid.eventIds[0] as string;
    await sql(
      "select payguard.record_event('stripe', $1, 'checkout.session.completed', $2, $3::timestamptz)",
      [stripeEvent, stripeOrder, at(1)],
    );
    await sql("select payguard.finish_event('stripe', $1, 'failed', 'database timeout', $2::timestamptz)", [
      stripeEvent,
      at(1),
    ]);

    const wechatUser = crypto.randomUUID();
    const lost = await wechatPaidWithoutOrder(wechatUser);
    const wechatEvent = `wx_evt_${crypto.randomUUID()}`;
    await sql("select payguard.record_event('wechatpay', $1, 'TRANSACTION.SUCCESS', $2, $3::timestamptz)", [
      wechatEvent,
      lost.orderId,
      at(2),
    ]);
    const outside = `wx_evt_${crypto.randomUUID()}`;
    await sql("select payguard.record_event('wechatpay', $1, 'TRANSACTION.SUCCESS', $2, $3::timestamptz)", [
      outside,
      newOrderId(),
      at(90),
    ]);

    const dry = await replay(window, true);
    expect(dry.summary).toEqual({ would_refetch: 1, would_rebuild: 1 });
    expect(await orderStatus(stripeOrder)).toBe("pending");
    expect(await orderStatus(lost.orderId)).toBeNull();

    const done = await replay(window);
    expect(done.results.map((r) => [r.eventId, r.outcome])).toEqual([
      [stripeEvent, "fulfilled"],
      [wechatEvent, "created_from_metadata"],
    ]);
    expect((await ledgerOf(stripeUser)).balance).toBe(100);
    expect((await ledgerOf(wechatUser)).balance).toBe(100);
    expect(await inboxRow("stripe", stripeEvent)).toBe("processed");
    expect(await inboxRow("wechatpay", wechatEvent)).toBe("processed");
    expect(await inboxRow("wechatpay", outside)).toBe("received");

    expect((await replay(window)).summary).toEqual({});
    expect((await ledgerOf(stripeUser)).balance).toBe(100);
    const only = await replay({ ...window, to: at(120), provider: "wechatpay", status: "stuck" }, true);
    expect(only.results.map((r) => r.eventId)).toEqual([outside]);
  });

  it("refuses a bad filter with 400", async () => {
    for (const body of [
      { reason: "x" },
      { reason: REASON, status: "processed" },
      { reason: REASON, provider: "paypal" },
      { reason: REASON, limit: 101 },
      { reason: REASON, from: "yesterday" },
    ]) {
      expect((await post("/inbox/replay", body)).status).toBe(400);
    }
  });
});

async function checkout(user: string, packageId: string) {
  return call("/api/checkout", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await userToken(user)}` },
    body: JSON.stringify({ packageId, provider: "stripe" }),
  });
}

/** As an operator sees it: live, not the public answer's snapshot of up to 10 s ago (src/http/health.ts). */
const health = async () =>
  (await (await call("/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).json()) as {
    sales: { paused: string[] };
  };

describe("pause sales", () => {
  it("checkout refuses the paused package (409 sales_paused) while paid orders of it are still credited (webhook, success page); resuming restores checkout", async () => {
    await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
      values ('pausable', 'Pausable', 1999, 'USD', 100, true) on conflict (id) do nothing`);
    const user = crypto.randomUUID();
    const started = await checkout(user, "pausable");
    expect(started.status).toBe(201);
    const { orderId } = (await started.json()) as { orderId: string };
    const otherUser = crypto.randomUUID();
    const other = (await (await checkout(otherUser, "pausable")).json()) as { orderId: string };

    const paused = await post("/sales/pause", { reason: "supplier out of stock", scope: "pausable" });
    expect(await paused.json()).toMatchObject({ outcome: "paused" });
    const refused = await checkout(crypto.randomUUID(), "pausable");
    expect(refused.status).toBe(409);
    expect(refused.headers.get("retry-after")).toBeNull();
    expect(await refused.json()).toMatchObject({ error: "sales_paused", retryable: false });
    expect((await checkout(crypto.randomUUID(), "credits_100")).status).toBe(201);
    expect((await health()).sales.paused).toContain("pausable");

    // The customer who started before the pause pays; the webhook credits it as usual.
    const paid = await stripeScenario("pay", { orderId });
    for (const delivery of paid.deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
    // Another one pays and its webhook is lost: the success page's re-query credits it, paused or not.
    await stripeScenario("pay", { orderId: other.orderId });
    const polled = await call(`/api/orders/${other.orderId}`, {
      headers: { authorization: `Bearer ${await userToken(otherUser)}` },
    });
    expect(await polled.json()).toMatchObject({ status: "fulfilled" });
    expect((await ledgerOf(otherUser)).balance).toBe(100);

    const resumed = await post("/sales/resume", { reason: "stock is back", scope: "pausable" });
    expect(await resumed.json()).toMatchObject({ outcome: "resumed" });
    expect((await checkout(crypto.randomUUID(), "pausable")).status).toBe(201);
    expect((await health()).sales.paused).not.toContain("pausable");

    const recorded = await sql<{ action: string; actor: string }>(
      "select action, actor from payguard.admin_actions where target = 'pausable' order by id",
    );
    expect(recorded).toEqual([
      { action: "pause_sales", actor: "ci" },
      { action: "resume_sales", actor: "ci" },
    ]);
  });

  it("an unknown package is 404, a bad scope 400, and nothing is paused", async () => {
    expect((await post("/sales/pause", { reason: REASON, scope: "no_such_package" })).status).toBe(404);
    expect((await post("/sales/pause", { reason: REASON, scope: "a b" })).status).toBe(400);
    expect((await health()).sales.paused).not.toContain("no_such_package");
  });
});

const ORIGIN = new URL(BASE_URL).origin;
const formBody = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const response = await call("/admin/login", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: formBody({ token: env.ADMIN_TOKEN }),
    redirect: "manual",
  });
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const html = await (await call("/admin/runbook", { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return { cookie, csrf };
}

describe("runbook page", () => {
  it("pauses after a confirmation (banner on every page), repairs from a reference after a dry run and a confirmation", async () => {
    await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
      values ('console_pause', 'Console pause', 1999, 'USD', 100, true) on conflict (id) do nothing`);
    const { cookie, csrf } = await signIn();
    const submit = (path: string, fields: Record<string, string>) =>
      call(path, {
        method: "POST",
        headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: formBody({ csrf, ...fields }),
        redirect: "manual",
      });
    const pauseFields = { scope: "console_pause", reason: "supplier problem" };
    const asked = await submit("/admin/sales/pause", pauseFields);
    expect(await asked.text()).toContain('id="confirm-form"');
    expect((await health()).sales.paused).not.toContain("console_pause");
    const confirmed = await submit("/admin/sales/pause", { ...pauseFields, confirm: "yes" });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get("location")).toBe("/admin/runbook");
    const overview = await (await call("/admin/orders", { headers: { cookie } })).text();
    expect(overview).toMatch(/id="sales-banner"[\s\S]*console_pause/);

    const user = crypto.randomUUID();
    const lost = await stripePaidWithoutOrder(user);
    const dry = await (
      await submit("/admin/runbook/repair", { refs: lost.sessionId, reason: "ticket 7", dryRun: "true" })
    ).text();
    expect(dry).toMatch(/id="repair-results"[\s\S]*would_rebuild/);
    expect((await ledgerOf(user)).balance).toBe(0);
    const repairFields = { refs: lost.sessionId, reason: "ticket 7", dryRun: "false" };
    expect(await (await submit("/admin/runbook/repair", repairFields)).text()).toContain('id="confirm-form"');
    expect((await ledgerOf(user)).balance).toBe(0);
    const done = await (await submit("/admin/runbook/repair", { ...repairFields, confirm: "yes" })).text();
    expect(done).toMatch(/id="repair-results"[\s\S]*created_from_metadata/);
    expect((await ledgerOf(user)).balance).toBe(100);

    await submit("/admin/sales/resume", { ...pauseFields, confirm: "yes" });
    expect(await (await call("/admin/orders", { headers: { cookie } })).text()).not.toMatch(/console_pause/);
  });

  it("explains a subscription invoice's dry run in words and links the grant's order after the real run", async () => {
    const { cookie, csrf } = await signIn();
    const submit = (fields: Record<string, string>) =>
      call("/admin/runbook/repair", {
        method: "POST",
        headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: formBody({ csrf, reason: "ticket 8", ...fields }),
        redirect: "manual",
      });
    const user = crypto.randomUUID();
    const { invoiceId } = await subscribeAtSandbox(
      user,
      await billedAtSandbox(await seedPlan("runbook_monthly")),
    );
    const dry = await (await submit({ refs: invoiceId, dryRun: "true" })).text();
    expect(dry).toMatch(/id="repair-results"[\s\S]*paid invoice not recorded: would settle it/);
    expect((await ledgerOf(user)).balance).toBe(0);
    const done = await (await submit({ refs: invoiceId, dryRun: "false", confirm: "yes" })).text();
    expect(done).toMatch(new RegExp(`id="repair-results"[\\s\\S]*href="/admin/orders/${invoiceId}"`));
    expect((await ledgerOf(user)).balance).toBe(100);
  });
});
