import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { stripeClientFor } from "../../src/providers/registry.ts";
import { STRIPE_EVENT_TYPES } from "../../src/providers/stripe/event-types.ts";
import { readPlatformCertificates } from "../../src/providers/wechatpay/certificates.ts";
import { checkCallbackHealth } from "../../src/reconcile/health.ts";
import { CRON_HEALTH_AUDIT, CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { platformCertificatePem } from "../fixtures/wechatpay/platform-certificate.ts";
import { call, incidentRowsFrom, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { dueOrders, runCron } from "../support/worker/reconcile.ts";
import { createOrder, ledgerOf } from "../support/worker/stripe.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

const HOUR_MS = 3600_000;
const ENDPOINT_URL = "https://payguard.test/webhooks/stripe";

/** Incidents keyed by one of this suite's own orders. */
const incidents = (key: string) =>
  sql<{ status: string }>("select status from payguard.incidents where key = $1 order by id", [key]);

describe("hourly callback health", () => {
  beforeAll(seedPackage);

  it("a localhost notify URL opens one incident, which resolves once the URL is fixed", async () => {
    const config = await incidentRowsFrom("callback_health:config");
    const deps = getDeps(env);
    const broken = { ...deps, config: { ...deps.config, publicBaseUrl: "http://localhost:8787" } };
    await checkCallbackHealth(broken, Date.now());
    await checkCallbackHealth(broken, Date.now());
    expect(await config()).toEqual(["open"]);
    await checkCallbackHealth(
      { ...deps, config: { ...deps.config, publicBaseUrl: "https://pay.example.com" } },
      Date.now(),
    );
    expect(await config()).toEqual(["resolved"]);
  });

  it("a disabled Stripe endpoint and failing Stripe deliveries each open one incident, resolved once fixed", async () => {
    const stripe = stripeClientFor(getDeps(env));
    if (!stripe) throw new Error("stripe is configured in tests");
    const endpoint = await stripe.webhookEndpoints.create({
      url: ENDPOINT_URL,
      enabled_events: [...STRIPE_EVENT_TYPES],
    });
    try {
      // Other suites' hourly runs met no endpoint at all, or deliveries failing: an hour later with an
      // enabled endpoint and nothing failing, whatever they left open is resolved.
      await runCron(CRON_HEALTH_AUDIT, Date.now() + 2 * HOUR_MS);
      const endpointRows = await incidentRowsFrom("callback_health:stripe_endpoint");
      const deliveryRows = await incidentRowsFrom("callback_health:stripe_delivery");
      await stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
      await runCron(CRON_HEALTH_AUDIT);
      expect(await endpointRows()).toEqual(["open"]);
      await stripe.webhookEndpoints.update(endpoint.id, { disabled: false });
      // Sent to the endpoint, which nothing answers: Stripe records the delivery as failed.
      const orderId = await createOrder(crypto.randomUUID());
      await sandbox("stripe/pay", { orderId });
      await sandbox("deliveries?wait=1");
      await runCron(CRON_HEALTH_AUDIT);
      await runCron(CRON_HEALTH_AUDIT);
      expect(await endpointRows()).toEqual(["resolved"]);
      expect(await deliveryRows()).toEqual(["open"]);
      // An hour with no failing delivery resolves it.
      await runCron(CRON_HEALTH_AUDIT, Date.now() + 2 * HOUR_MS);
      expect(await deliveryRows()).toEqual(["resolved"]);
    } finally {
      await stripe.webhookEndpoints.del(endpoint.id);
    }
  });

  it("WeChat payments found only by re-query open one incident, resolved after an hour without", async () => {
    const [orderId] = await dueOrders("wechatpay", 1);
    const { nowMs } = await sandbox<{ nowMs: number }>("clock");
    await sandbox("clock", { setMs: nowMs - 20 * 60_000 });
    try {
      await wechatScenario("pay", { orderId, amountMinor: 990 });
    } finally {
      await sandbox("clock", { setMs: Date.now() });
    }
    await runCron(CRON_RECONCILE);
    await runCron(CRON_HEALTH_AUDIT);
    const [incident] = await sql<{ status: string; summary: string }>(
      "select status, summary from payguard.incidents where key = 'callback_health:wechat_notify' order by id desc limit 1",
    );
    expect(incident?.status).toBe("open");
    expect(incident?.summary).toContain("WeChat notifications are not arriving");
    await runCron(CRON_HEALTH_AUDIT, Date.now() + 2 * HOUR_MS);
    expect(
      await sql(
        "select 1 from payguard.incidents where key = 'callback_health:wechat_notify' and status = 'open'",
      ),
    ).toEqual([]);
  });
});

describe("hourly WeChat Pay platform certificate check", () => {
  const DAY_MS = 86_400_000;
  const randomSerial = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(20)), (byte) => byte.toString(16).padStart(2, "0"))
      .join("")
      .replace(/^./, "5")
      .toUpperCase();
  const certificate = async (serialHex: string, notAfterMs: number) =>
    readPlatformCertificates(
      await platformCertificatePem({
        serialHex,
        notBefore: new Date(notAfterMs - 1800 * DAY_MS),
        notAfter: new Date(notAfterMs),
      }),
    );

  it("warns 30 days ahead, turns critical at expiry, resolves once the next certificate is configured", async () => {
    const deps = getDeps(env);
    const wechat = deps.config.wechat;
    if (!wechat) throw new Error("wechatpay is configured in tests");
    const withCertificates = (platformCertificates: typeof wechat.platformCertificates) => ({
      ...deps,
      config: { ...deps.config, wechat: { ...wechat, platformCertificates } },
    });
    const nowMs = Date.now();
    const serial = randomSerial();
    const old = await certificate(serial, nowMs + 10 * DAY_MS);
    const key = `wechatpay_cert_expiry:${serial}`;
    const rows = () =>
      sql<{ status: string; severity: string }>(
        "select status, severity from payguard.incidents where key = $1 order by id",
        [key],
      );
    await checkCallbackHealth(withCertificates(old), nowMs);
    expect(await rows()).toEqual([{ status: "open", severity: "warning" }]);
    await checkCallbackHealth(withCertificates(old), nowMs + 11 * DAY_MS);
    expect(await rows()).toEqual([{ status: "open", severity: "critical" }]);
    const next = await certificate(randomSerial(), nowMs + 1800 * DAY_MS);
    await checkCallbackHealth(withCertificates([...old, ...next]), nowMs + 11 * DAY_MS);
    expect(await rows()).toEqual([{ status: "resolved", severity: "critical" }]);
  });
});

describe("hourly reachability probe", () => {
  const KEY = "callback_health:reachability";
  const at = (publicBaseUrl: string) => {
    const deps = getDeps(env);
    return { ...deps, config: { ...deps.config, publicBaseUrl } };
  };
  /** This deployment, reached through its own fetch handler at PUBLIC_BASE_URL. */
  const thisDeployment = (input: string, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init));
  const openRows = async () =>
    (
      await sql<{ n: number }>(
        "select count(*)::int as n from payguard.incidents where key = $1 and status = 'open'",
        [KEY],
      )
    )[0]?.n;

  it("opens one incident while the URL answers 404, a parked page, another deployment or nothing; resolves once this deployment answers", async () => {
    const sandboxUrl = inject("sandboxUrl");
    const passed = await checkCallbackHealth(getDeps(env), Date.now(), { fetch: thisDeployment });
    expect(passed.reachability).toBe("ok");
    expect(await openRows()).toBe(0);
    const [{ last = 0 } = {}] = await sql<{ last: number }>(
      "select coalesce(max(id), 0)::int as last from payguard.incidents where key = $1",
      [KEY],
    );

    const failures: Array<[string, string]> = [
      [sandboxUrl, "answered HTTP 404"],
      [`${sandboxUrl}/parked`, "answered without this deployment's proof"],
      [`${sandboxUrl}/other-deployment`, "answered with a wrong proof"],
    ];
    for (const [base, problem] of failures) {
      const run = await checkCallbackHealth(at(base), Date.now());
      expect(run.reachability, base).toContain(problem);
      expect(run.failing).toContain("reachability");
    }
    await sandbox("faults", { api: [{ kind: "timeout", pathPrefix: "/slow/", hangMs: 2_000 }] });
    try {
      const slow = await checkCallbackHealth(at(`${sandboxUrl}/slow`), Date.now(), { timeoutMs: 200 });
      expect(slow.reachability).toBe("no answer within 200 ms");
    } finally {
      await sandbox("faults", { api: [] });
    }
    const opened = await sql<{ status: string; summary: string }>(
      "select status, summary from payguard.incidents where key = $1 and id > $2 order by id",
      [KEY, last],
    );
    expect(opened).toEqual([
      { status: "open", summary: expect.stringContaining("Callback URL not reachable") },
    ]);

    const fixed = await checkCallbackHealth(getDeps(env), Date.now(), { fetch: thisDeployment });
    expect(fixed.reachability).toBe("ok");
    expect(await openRows()).toBe(0);
  });

  it("/health refuses a malformed probe nonce with 400 and proves only the nonce it was asked", async () => {
    expect((await call("/health?probe=short")).status).toBe(400);
    expect((await call("/health?probe=not%20base64url%20at%20all%20here")).status).toBe(400);
    const nonce = "A".repeat(43);
    const answer = (await (await call(`/health?probe=${nonce}`)).json()) as { probe: string };
    expect(answer.probe).toMatch(/^[0-9a-f]{64}$/);
    const again = (await (await call(`/health?probe=${"B".repeat(43)}`)).json()) as { probe: string };
    expect(again.probe).not.toBe(answer.probe);
  });
});

describe("hourly ledger audit", () => {
  beforeAll(seedPackage);

  it("drift and a fulfilled order without its grant open incidents; the grant is repaired, drift waits for an operator", async () => {
    const userId = crypto.randomUUID();
    const orderId = await createOrder(userId);
    await sql(
      `update payguard.payment_orders set status = 'fulfilled', payment_ref = 'cs_lost_grant', paid_at = now()
        where id = $1`,
      [orderId],
    );
    const drifted = crypto.randomUUID();
    await sql("insert into payguard.credit_balances (user_id, credits, updated_at) values ($1, 7, now())", [
      drifted,
    ]);

    await runCron(CRON_HEALTH_AUDIT);
    expect(await incidents(`audit:fulfilled_without_grant:${orderId}`)).toEqual([{ status: "resolved" }]);
    expect((await ledgerOf(userId)).rows).toEqual([{ kind: "purchase", credits: 100 }]);
    expect(await incidents(`audit:balance_mismatch:${drifted}`)).toEqual([{ status: "open" }]);

    await runCron(CRON_HEALTH_AUDIT);
    expect(await incidents(`audit:balance_mismatch:${drifted}`)).toEqual([{ status: "open" }]);
    expect((await ledgerOf(userId)).rows).toHaveLength(1);

    await sql("select payguard.repair_balance($1::uuid, now())", [drifted]);
    await runCron(CRON_HEALTH_AUDIT);
    expect(await incidents(`audit:balance_mismatch:${drifted}`)).toEqual([{ status: "resolved" }]);
  });

  it("a refund failure recorded beside a refund still counted is found and applied by the audit", async () => {
    const userId = crypto.randomUUID();
    const orderId = await createOrder(userId);
    const payment = `pi_${orderId}`;
    const refund = `re_${orderId}`;
    await sql(
      `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2, p_amount_minor => 1999,
         p_currency => 'USD', p_paid_at => now(), p_source => 'webhook', p_now => now())`,
      [orderId, payment],
    );
    await sql(
      `select payguard.apply_refund(p_provider => 'stripe', p_order_id => null, p_refund_ref => $1, p_amount_minor => 1999,
         p_currency => 'USD', p_source => 'webhook', p_now => now(), p_payment_ref => $2)`,
      [refund, payment],
    );
    // What the old unlocked race could leave behind: the failure row without its effect.
    await sql(
      "insert into payguard.refund_failures (provider, refund_ref, failed_at) values ('stripe', $1, now())",
      [refund],
    );

    await runCron(CRON_HEALTH_AUDIT);
    expect(await incidents(`audit:refund_failure_unapplied:stripe:${refund}`)).toEqual([
      { status: "resolved" },
    ]);
    const [order] = await sql<{ status: string }>(
      "select status from payguard.payment_orders where id = $1",
      [orderId],
    );
    expect(order?.status).toBe("fulfilled");
    expect((await ledgerOf(userId)).rows.reduce((sum, row) => sum + Number(row.credits), 0)).toBe(100);
  });
});
