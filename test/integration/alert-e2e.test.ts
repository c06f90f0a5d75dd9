/**
 * End to end in workerd: incidents from real sources go through `getDeps(env).alerts` to the deployment's
 * AlertDesk (`idFromName("desk")`) and reach Slack, DingTalk and WeCom once each; a resolve posts the
 * "resolved" message.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deskStub } from "../../src/alerts/desk-sink.ts";
import { CRON_HEALTH_AUDIT } from "../../src/reconcile/scheduled.ts";
import {
  acceptedOn,
  alarmAt,
  clearAlarm,
  configureDesk,
  messageText,
  newRobot,
  type Robot,
  received,
  robotChannels,
} from "../support/worker/alerts.ts";
import { BASE_URL, seedPackage, sql } from "../support/worker/harness.ts";
import { runCron } from "../support/worker/reconcile.ts";
import { createOrder, deliverStripe, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";

const desk = deskStub(env.ALERT_DESK);
let robot: Robot;

beforeAll(async () => {
  await seedPackage();
  robot = await newRobot();
  await configureDesk(desk, { channels: robotChannels(robot), reminderIntervalMs: 60 * 60_000 });
});
afterAll(() => clearAlarm(desk));

/**
 * Runs the desk's alarm now, then (on the desk's injected clock) the deliveries it scheduled within
 * `horizonMs`: Slack takes about one message a second, and in a storm DingTalk and WeCom send one digest
 * every few seconds. The hourly audit raises every finding in the shared database at once: a small storm.
 */
async function runDesk(horizonMs = 60_000): Promise<void> {
  await runDurableObjectAlarm(desk);
  await desk.tick(Date.now()); // also waits for a delivery the alarm started on its own
  for (let next = await alarmAt(desk); next !== null && next <= Date.now() + horizonMs; ) {
    await desk.tick(next);
    const after = await alarmAt(desk);
    if (after === next) break;
    next = after;
  }
}

async function messagesAbout(fragment: string) {
  const log = await received(robot);
  return Object.fromEntries(
    (["slack", "dingtalk", "wecom"] as const).map((channel) => [
      channel,
      acceptedOn(log, channel)
        .map((entry) => messageText(entry.payload))
        .filter((text) => text.includes(fragment)),
    ]),
  );
}

/** The one incident the payguard side opened about `orderId`, whichever key family it belongs to. */
async function incidentAbout(orderId: string) {
  const rows = await sql<{ key: string; status: string; severity: string }>(
    "select key, status, severity from payguard.incidents where detail->>'order_id' = $1 order by id",
    [orderId],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as { key: string; status: string; severity: string };
}

describe("alerts end to end", () => {
  it("a payment for an unknown order reaches all three receivers once; writing the order credits it and posts 'resolved'", async () => {
    const orderId = `ord_missing_${crypto.randomUUID()}`;
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    for (const delivery of [...deliveries, ...deliveries])
      expect((await deliverStripe(delivery)).status).toBe(200);
    await runDesk();
    const incident = await incidentAbout(orderId);
    expect(incident).toMatchObject({ status: "open", severity: "critical" });
    const link = `${BASE_URL}/admin/incidents/${encodeURIComponent(incident.key)}`;
    const messages = await messagesAbout(encodeURIComponent(incident.key));
    expect(Object.values(messages).map((texts) => texts.length)).toEqual([1, 1, 1]);
    expect(messages.slack?.[0]).toContain(link);
    expect(messages.dingtalk?.[0]).toContain("新事件");

    // The app writes the order late: the held payment applies in the same transaction, and the hourly
    // audit no longer finds it, so the incident resolves and every channel hears so.
    const user = crypto.randomUUID();
    await sql("select payguard.create_order($1::uuid, 'credits_100', 'stripe', now(), $2)", [user, orderId]);
    expect((await ledgerOf(user)).balance).toBe(100);
    await runCron(CRON_HEALTH_AUDIT);
    await runDesk();
    expect((await incidentAbout(orderId)).status).toBe("resolved");
    const after = await messagesAbout(encodeURIComponent(incident.key));
    expect(after.slack?.[1]).toContain("Resolved");
    expect(after.wecom?.[1]).toContain("已恢复");
  });

  it("a ledger drift found by the hourly audit reaches every channel once, and its repair posts 'resolved'", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    for (const delivery of deliveries) await deliverStripe(delivery);
    await sql("update payguard.credit_balances set credits = 7 where user_id = $1::uuid", [user]);
    await runCron(CRON_HEALTH_AUDIT);
    await runDesk();
    const key = `audit:balance_mismatch:${user}`;
    expect(Object.values(await messagesAbout(encodeURIComponent(key))).map((texts) => texts.length)).toEqual([
      1, 1, 1,
    ]);

    await sql("select payguard.repair_balance($1::uuid, $2::timestamptz)", [user, new Date().toISOString()]);
    expect((await ledgerOf(user)).balance).toBe(100);
    await runCron(CRON_HEALTH_AUDIT);
    await runDesk();
    const after = await messagesAbout(encodeURIComponent(key));
    expect(after.slack?.[1]).toContain("Resolved");
    expect(after.dingtalk?.[1]).toContain("已恢复");
    expect(after.wecom?.[1]).toContain("已恢复");
  });
});
