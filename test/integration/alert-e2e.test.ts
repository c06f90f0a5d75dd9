/**
 * End to end in workerd: incidents from real sources go through `getDeps(env).alerts` to the deployment's
 * AlertDesk (`idFromName("desk")`) and reach Slack, DingTalk and WeCom once each; a resolve posts the
 * "resolved" message.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deskStub } from "../../src/alerts/desk-sink.ts";
import { getDeps } from "../../src/deps.ts";
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
import { createOrder, deliverStripe, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";

const desk = deskStub(env.ALERT_DESK);
let robot: Robot;

beforeAll(async () => {
  await seedPackage();
  robot = await newRobot();
  await configureDesk(desk, { channels: robotChannels(robot), reminderIntervalMs: 60 * 60_000 });
});
afterAll(() => clearAlarm(desk));

/** Slack takes about one message a second: a delivery may be due that far ahead of the wall clock. */
const CHANNEL_WAIT_MAX_MS = 5_000;

/** Runs the desk's alarm now, then the work it scheduled within the next few seconds (the Slack interval). */
async function runDesk(): Promise<void> {
  await runDurableObjectAlarm(desk);
  await desk.tick(Date.now()); // also waits for a delivery the alarm started on its own
  const next = await alarmAt(desk);
  if (next !== null && next <= Date.now() + CHANNEL_WAIT_MAX_MS) await desk.tick(next);
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

describe("alerts end to end", () => {
  it("a payment for an unknown order reaches all three receivers once, even when Stripe redelivers", async () => {
    const orderId = `ord_missing_${crypto.randomUUID()}`;
    const { deliveries } = await stripeScenario("pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
    });
    for (const delivery of [...deliveries, ...deliveries])
      expect((await deliverStripe(delivery)).status).toBe(200);
    await runDesk();
    const key = `unknown_order:${orderId}`;
    const link = `${BASE_URL}/admin/incidents/${encodeURIComponent(key)}`;
    const messages = await messagesAbout(encodeURIComponent(key));
    expect(Object.values(messages).map((texts) => texts.length)).toEqual([1, 1, 1]);
    expect(messages.slack?.[0]).toContain(link);
    expect(messages.dingtalk?.[0]).toContain("新事件");
    const rows = await sql<{ status: string; severity: string }>(
      "select status, severity from payguard.incidents where key = $1",
      [key],
    );
    expect(rows).toEqual([{ status: "open", severity: "critical" }]);
  });

  it("a ledger drift raised as the audit does reaches every channel once, and its repair posts 'resolved'", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    for (const delivery of deliveries) await deliverStripe(delivery);
    await sql("update payguard.credit_balances set credits = 7 where user_id = $1::uuid", [user]);
    const [audit] = await sql<{
      findings: Array<{ kind: string; subject: string; detail: Record<string, unknown> }>;
    }>("select payguard.audit_ledger($1::timestamptz) as findings", [new Date().toISOString()]);
    const finding = audit?.findings.find(
      (entry) => entry.kind === "balance_mismatch" && entry.subject === user,
    );
    expect(finding).toBeDefined();
    const key = `balance_mismatch:${user}`;
    const { alerts } = getDeps(env);
    const raised = await alerts.raise(
      {
        key,
        kind: "balance_mismatch",
        severity: "critical",
        summary: "Credit balance disagrees with the ledger",
        detail: { user_id: user, ...finding?.detail },
      },
      Date.now(),
    );
    expect(raised.ok).toBe(true);
    await runDesk();
    expect(Object.values(await messagesAbout(encodeURIComponent(key))).map((texts) => texts.length)).toEqual([
      1, 1, 1,
    ]);

    await sql("select payguard.repair_balance($1::uuid, $2::timestamptz)", [user, new Date().toISOString()]);
    expect((await ledgerOf(user)).balance).toBe(100);
    expect((await alerts.resolve(key, Date.now())).ok).toBe(true);
    await runDesk();
    const after = await messagesAbout(encodeURIComponent(key));
    expect(after.slack?.[1]).toContain("Resolved");
    expect(after.dingtalk?.[1]).toContain("已恢复");
    expect(after.wecom?.[1]).toContain("已恢复");
  });
});
