/**
 * The weekly report for a seeded week (in 2031, so no other suite's orders fall in it): its figures match
 * what the test computes from the seeded payments itself, the hourly job posts it once to Slack, DingTalk
 * and WeCom on Monday from 09:00, and the console shows the same week.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deskStub } from "../../src/alerts/desk-sink.ts";
import { CRON_HEALTH_AUDIT } from "../../src/reconcile/scheduled.ts";
import {
  acceptedOn,
  clearAlarm,
  configureDesk,
  messageText,
  newRobot,
  type Robot,
  received,
  robotChannels,
} from "../support/worker/alerts.ts";
import { adminHeaders, BASE_URL, call, seedPackage, sql } from "../support/worker/harness.ts";
import { lastRun, runCron } from "../support/worker/reconcile.ts";

const WEEK_START = "2031-03-03";
const FROM_MS = Date.parse(`${WEEK_START}T00:00:00Z`);
const HOUR_MS = 3_600_000;
const TO_MS = FROM_MS + 7 * 24 * HOUR_MS;
const MONDAY_0905 = TO_MS + 9 * HOUR_MS + 5 * 60_000;

interface Seeded {
  path: "webhook" | "reconcile" | "confirm" | "admin";
  currency: "USD" | "CNY";
  latencyMs: number;
}

/** Paid orders of the week: how each was settled and how long paid → credited took. */
const PAID: Seeded[] = [
  { path: "webhook", currency: "USD", latencyMs: 800 },
  { path: "webhook", currency: "USD", latencyMs: 1_200 },
  { path: "webhook", currency: "CNY", latencyMs: 2_500 },
  { path: "webhook", currency: "USD", latencyMs: 400 },
  { path: "webhook", currency: "CNY", latencyMs: 9_000 },
  { path: "reconcile", currency: "USD", latencyMs: 300_000 },
  { path: "reconcile", currency: "CNY", latencyMs: 610_000 },
  { path: "confirm", currency: "USD", latencyMs: 4_000 },
  { path: "admin", currency: "CNY", latencyMs: 86_400_000 },
];
const UNPAID = 3;
const PRICE = { USD: 1999, CNY: 990 } as const;
const iso = (ms: number) => new Date(ms).toISOString();
const desk = deskStub(env.ALERT_DESK);
let robot: Robot;

async function seedOrder(atMs: number, currency: "USD" | "CNY"): Promise<string> {
  const [row] = await sql<{ id: string }>(
    "select (payguard.create_order(gen_random_uuid(), $1, $2, $3::timestamptz))->>'id' as id",
    [
      currency === "USD" ? "credits_100" : "credits_cny",
      currency === "USD" ? "stripe" : "wechatpay",
      iso(atMs),
    ],
  );
  return row?.id ?? "";
}

async function pay(orderId: string, seeded: Seeded, paidAtMs: number): Promise<void> {
  await sql(`select payguard.apply_payment($1, $2, $3, $4, $5, $6::timestamptz, $7, $8::timestamptz)`, [
    seeded.currency === "USD" ? "stripe" : "wechatpay",
    orderId,
    `pay_${orderId}`,
    PRICE[seeded.currency],
    seeded.currency,
    iso(paidAtMs),
    seeded.path,
    iso(paidAtMs + seeded.latencyMs),
  ]);
}

/** percentile_disc: the smallest sample at or above the given share of the sorted samples. */
function percentile(samples: number[], share: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil(share * sorted.length) - 1] ?? 0;
}

let refunded = "";

beforeAll(async () => {
  await seedPackage();
  robot = await newRobot();
  await configureDesk(desk, { channels: robotChannels(robot), reminderIntervalMs: 60 * 60_000 });
  // One paid order just before the week: outside every figure.
  const before = await seedOrder(FROM_MS - 2 * HOUR_MS, "USD");
  await pay(before, { path: "webhook", currency: "USD", latencyMs: 1_000 }, FROM_MS - HOUR_MS);
  for (const [index, seeded] of PAID.entries()) {
    const createdMs = FROM_MS + (index + 1) * 6 * HOUR_MS;
    const orderId = await seedOrder(createdMs, seeded.currency);
    await pay(orderId, seeded, createdMs + 60_000);
    if (index === 0) refunded = orderId;
  }
  for (let i = 0; i < UNPAID; i += 1) await seedOrder(FROM_MS + 3 * 24 * HOUR_MS + i * 60_000, "USD");
  await sql("select payguard.apply_refund('stripe', $1, $2, 1999, 'USD', 'webhook', $3::timestamptz)", [
    refunded,
    `re_${refunded}`,
    iso(FROM_MS + 5 * 24 * HOUR_MS),
  ]);
  const incident = (key: string, atMs: number) =>
    sql("select payguard.open_incident($1, 'weekly_test', 'warning', $2, '{}'::jsonb, $3::timestamptz)", [
      key,
      `seeded ${key}`,
      iso(atMs),
    ]);
  await incident("weekly_test:resolved", FROM_MS + 24 * HOUR_MS);
  await sql("select payguard.resolve_incident('weekly_test:resolved', $1::timestamptz)", [
    iso(FROM_MS + 25 * HOUR_MS),
  ]);
  await incident("weekly_test:open", FROM_MS + 6 * 24 * HOUR_MS);
});
afterAll(async () => {
  await sql("select payguard.resolve_incident('weekly_test:open', $1::timestamptz)", [iso(TO_MS + HOUR_MS)]);
  await clearAlarm(desk);
});

describe("weekly report", () => {
  it("the week's figures match the seeded payments, credits, latencies, repairs and incidents", async () => {
    const response = await call(`/admin/api/report?week=${WEEK_START}`, { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const { week, figures } = (await response.json()) as { week: string; figures: Record<string, unknown> };
    expect(week).toBe(WEEK_START);

    const byCurrency = (currency: "USD" | "CNY") => PAID.filter((seeded) => seeded.currency === currency);
    expect(figures.orders_created).toBe(PAID.length + UNPAID);
    expect(figures.payments).toEqual(
      (["CNY", "USD"] as const).map((currency) => ({
        currency,
        count: byCurrency(currency).length,
        amount_minor: byCurrency(currency).length * PRICE[currency],
      })),
    );
    expect(figures.credits).toEqual({ granted: PAID.length * 100, clawed_back: 100, adjusted: 0 });
    const paths = [...new Set(PAID.map((seeded) => seeded.path))].sort();
    expect(figures.latency).toEqual(
      paths.map((path) => {
        const samples = PAID.filter((seeded) => seeded.path === path).map((seeded) => seeded.latencyMs);
        return {
          path,
          count: samples.length,
          p50_ms: percentile(samples, 0.5),
          p95_ms: percentile(samples, 0.95),
        };
      }),
    );
    expect(figures.repaired).toEqual(
      ["admin", "confirm", "reconcile"].map((path) => ({
        kind: "paid",
        path,
        count: PAID.filter((seeded) => seeded.path === path).length,
      })),
    );
    expect(figures.incidents).toEqual({ opened: 2, resolved: 1 });
    const stillOpen = figures.still_open as { count: number; newest: Array<{ key: string }> };
    expect(stillOpen.newest[0]?.key).toBe("weekly_test:open");
    expect(stillOpen.newest.map((entry) => entry.key)).not.toContain("weekly_test:resolved");
  });

  it("a date that is not a Monday is refused", async () => {
    const response = await call("/admin/api/report?week=2031-03-04", { headers: adminHeaders() });
    expect(response.status).toBe(400);
  });

  it("the hourly job posts it on Monday from 09:00 to Slack, DingTalk and WeCom, once", async () => {
    await runCron(CRON_HEALTH_AUDIT, TO_MS + 8 * HOUR_MS);
    expect((await lastRun("health_audit"))?.detail.report).toEqual({ sent: false, reason: "not_due" });

    await runCron(CRON_HEALTH_AUDIT, MONDAY_0905);
    expect((await lastRun("health_audit"))?.detail.report).toEqual({ sent: true, weekStart: WEEK_START });
    await runCron(CRON_HEALTH_AUDIT, MONDAY_0905 + HOUR_MS);
    expect((await lastRun("health_audit"))?.detail.report).toEqual({ sent: false, reason: "already_sent" });

    const log = await received(robot);
    const reports = (channel: "slack" | "dingtalk" | "wecom") =>
      acceptedOn(log, channel)
        .map((entry) => messageText(entry.payload))
        .filter((text) => text.includes(WEEK_START));
    expect(reports("slack")).toHaveLength(1);
    expect(reports("dingtalk")).toHaveLength(1);
    expect(reports("wecom")).toHaveLength(1);
    expect(reports("slack")[0]).toContain("payguard weekly report");
    expect(reports("slack")[0]).toContain(`Orders created: ${PAID.length + UNPAID}`);
    expect(reports("dingtalk")[0]).toContain("周报");
    expect(reports("wecom")[0]).toContain("周报");
  });
});

describe("console report page", () => {
  const origin = new URL(BASE_URL).origin;
  const formPost = (path: string, cookie: string, fields: Record<string, string>) =>
    call(path, {
      method: "POST",
      headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });

  it("shows the week in English and Chinese, with the doctor panel whose button runs the doctor", async () => {
    const login = await formPost("/admin/login", "", { token: env.ADMIN_TOKEN });
    const session = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const html = await (
      await call(`/admin/report?week=${WEEK_START}`, { headers: { cookie: session } })
    ).text();
    expect(html).toContain(`Weekly report: Week of ${WEEK_START}`);
    expect(html).toContain("99.95 USD");
    expect(html).toContain("39.60 CNY");
    expect(html).toContain("Installation doctor");
    expect(html).toContain("weekly_test:open");
    const zh = await (
      await call(`/admin/report?week=${WEEK_START}`, {
        headers: { cookie: `${session}; __Host-payguard_lang=zh` },
      })
    ).text();
    expect(zh).toContain(`周报: 周起始日 ${WEEK_START}`);
    expect(zh).toContain("安装检查");

    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const ran = await formPost("/admin/doctor/run", session, { csrf, reason: "after the deploy" });
    expect(ran.status).toBe(303);
    expect(ran.headers.get("location")).toBe("/admin/report");
    expect((await lastRun("doctor"))?.status).toBe("ok");
  });
});
