/**
 * End to end in workerd: incidents from real sources go through `getDeps(env).alerts` to the deployment's
 * AlertDesk (`idFromName("desk")`) and reach Slack, DingTalk, WeCom and email (through the send_email
 * binding, read back from the .eml Miniflare wrote) once each, each in its configured language; a resolve
 * posts the "resolved" message everywhere. A Slack button click, signed by the sandbox's Slack app, acts
 * through the console's code path (admin_actions says `slack:<name>`) and updates the original message;
 * a forged, a stale and a replayed click change nothing, and an unknown Slack user is refused.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackEscape } from "../../src/alerts/channels/slack.ts";
import { deskStub } from "../../src/alerts/desk-sink.ts";
import { MARKDOWN } from "../../src/alerts/message.ts";
import { incidentTitle } from "../../src/incidents/catalogue.ts";
import { CRON_HEALTH_AUDIT } from "../../src/reconcile/scheduled.ts";
import {
  acceptedOn,
  alarmAt,
  clearAlarm,
  configureDesk,
  deliverInteraction,
  emailsIn,
  messageText,
  newRobot,
  type Robot,
  received,
  receivedWithEmails,
  robotChannels,
  slackClick,
  slackResponses,
} from "../support/worker/alerts.ts";
import { BASE_URL, call, seedPackage, sql } from "../support/worker/harness.ts";
import { runCron } from "../support/worker/reconcile.ts";
import {
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

const desk = deskStub(env.ALERT_DESK);
/** The operator the sandbox's default Slack user is mapped to (SLACK_OPERATORS in dev/local-stack.ts). */
const OPERATOR = "slack:oncall";
const STALE_S = 6 * 60;
const DESK_HORIZON_MS = 10 * 60_000;
let robot: Robot;

beforeAll(async () => {
  await seedPackage();
  robot = await newRobot();
  // Email in Chinese here, so each channel's own language shows: Slack en, DingTalk zh, WeCom zh, email zh.
  await configureDesk(desk, {
    channels: robotChannels(robot, { email: { language: "zh" } }),
    reminderIntervalMs: 60 * 60_000,
  });
});
afterAll(() => clearAlarm(desk));

/**
 * Runs the desk's alarm now, then (on the desk's injected clock) the deliveries it scheduled within
 * `horizonMs`: Slack takes about one message a second, and in a storm DingTalk and WeCom send one digest
 * every few seconds. The hourly audit raises every finding in the shared database at once: a small storm,
 * and each storm leaves the channels' next slot further ahead of the wall clock, hence the wide horizon
 * (well short of the hour-long reminder interval).
 */
async function runDesk(horizonMs = DESK_HORIZON_MS): Promise<void> {
  await runDurableObjectAlarm(desk);
  await desk.tick(Date.now()); // also waits for a delivery the alarm started on its own
  for (let next = await alarmAt(desk); next !== null && next <= Date.now() + horizonMs; ) {
    await desk.tick(next);
    const after = await alarmAt(desk);
    if (after === next) break;
    next = after;
  }
}

const CHANNELS = ["slack", "dingtalk", "wecom", "email"] as const;

async function messagesAbout(fragment: string, emails = 0) {
  const log = await receivedWithEmails(robot, emails, fragment);
  return Object.fromEntries(
    CHANNELS.map((channel) => [
      channel,
      acceptedOn(log, channel)
        .map((entry) => entry.payload)
        .filter((payload) => messageText(payload).includes(fragment)),
    ]),
  ) as Record<(typeof CHANNELS)[number], Array<Record<string, never>>>;
}

interface IncidentRow {
  key: string;
  status: string;
  severity: string;
  kind: string;
  summary: string;
  detail: Record<string, unknown>;
}

/** The one incident the payguard side opened about `orderId`, whichever key family it belongs to. */
async function incidentAbout(orderId: string): Promise<IncidentRow> {
  const rows = await sql<IncidentRow>(
    `select key, status, severity, kind, summary, detail from payguard.incidents
      where detail->>'order_id' = $1 order by id`,
    [orderId],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as IncidentRow;
}

/** A payment for an order that was never written: a critical incident with Slack buttons. */
async function openUnknownOrderIncident(): Promise<IncidentRow> {
  const orderId = `ord_missing_${crypto.randomUUID()}`;
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
  for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
  await runDesk();
  return incidentAbout(orderId);
}

const actionsOn = (key: string) =>
  sql<{ actor: string; action: string; outcome: string }>(
    "select actor, action, outcome from payguard.admin_actions where target = $1 order by id",
    [key],
  );

const triage = async (key: string) =>
  (
    await sql<{ acknowledged_by: string | null; muted_by: string | null }>(
      "select acknowledged_by, muted_by from payguard.incidents where key = $1 and status = 'open'",
      [key],
    )
  )[0];

describe("alerts end to end", () => {
  it("a payment for an unknown order reaches all four channels once, each in its language; writing the order credits it and posts 'resolved' everywhere", async () => {
    const orderId = `ord_missing_${crypto.randomUUID()}`;
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
    for (const delivery of [...deliveries, ...deliveries])
      expect((await deliverStripe(delivery)).status).toBe(200);
    await runDesk();
    const incident = await incidentAbout(orderId);
    expect(incident).toMatchObject({ status: "open", severity: "critical" });
    const link = `${BASE_URL}/admin/incidents/${encodeURIComponent(incident.key)}`;
    const messages = await messagesAbout(encodeURIComponent(incident.key), 1);
    expect(CHANNELS.map((channel) => messages[channel].length)).toEqual([1, 1, 1, 1]);
    const title = (lang: "en" | "zh") =>
      incidentTitle(incident.kind, incident.detail, incident.summary, lang);

    const slack = messages.slack[0] as unknown as { text: string; blocks: Array<Record<string, unknown>> };
    expect(slack.text).toContain(`[critical] New: ${slackEscape(title("en"))}`);
    expect(messageText(slack)).toContain(link);
    const buttons = JSON.stringify(slack.blocks.find((block) => block.type === "actions"));
    expect(buttons).toContain('"value":"acknowledge"');
    expect(buttons).toContain('"value":"mute_1h"');
    expect(buttons).toContain(`"url":"${link}"`);

    const dingtalk = messages.dingtalk[0] as unknown as {
      msgtype: string;
      actionCard: Record<string, string>;
    };
    expect(dingtalk.msgtype).toBe("actionCard");
    expect(dingtalk.actionCard.text).toContain(`新告警: ${MARKDOWN.escape(title("zh"))}`);
    expect(dingtalk.actionCard).toMatchObject({ singleTitle: "在控制台查看", singleURL: link });

    const wecom = messages.wecom[0] as unknown as { msgtype: string; template_card: Record<string, unknown> };
    expect(wecom.msgtype).toBe("template_card");
    expect(JSON.stringify(wecom.template_card.main_title)).toContain("严重 · 新告警");
    expect(wecom.template_card.card_action).toEqual({ type: 1, url: link });

    const [mail] = emailsIn(await receivedWithEmails(robot, 1, link)).filter((email) =>
      email.text.includes(link),
    );
    expect(mail?.to).toEqual([robot.emailTo]);
    expect(mail?.subject.startsWith(`[严重] ${incident.kind} · 新告警: `)).toBe(true);
    expect(mail?.text).toContain(title("zh"));
    expect(mail?.html).toContain(`<a href="${link}"`);
    expect(mail?.headers["content-type"]).toContain("multipart/alternative");

    // The app writes the order late: the held payment applies in the same transaction, and the hourly
    // audit no longer finds it, so the incident resolves and every channel hears so.
    const user = crypto.randomUUID();
    await sql("select payguard.create_order($1::uuid, 'credits_100', 'stripe', now(), $2)", [user, orderId]);
    expect((await ledgerOf(user)).balance).toBe(100);
    await runCron(CRON_HEALTH_AUDIT);
    await runDesk();
    expect((await incidentAbout(orderId)).status).toBe("resolved");
    const after = await messagesAbout(encodeURIComponent(incident.key), 2);
    expect(CHANNELS.map((channel) => after[channel].length)).toEqual([2, 2, 2, 2]);
    expect(messageText(after.slack[1])).toContain("Resolved");
    expect(messageText(after.dingtalk[1])).toContain("已恢复");
    expect(messageText(after.wecom[1])).toContain("已恢复");
    expect(messageText(after.email[1])).toContain("已恢复");
  });

  it("/health shows an operator the email channel like the others", async () => {
    const operator = { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } };
    const health = (await (await call("/health", operator)).json()) as {
      alerts: { on: boolean; channels: Record<string, { state: string; detail: string | null }> };
    };
    expect(health.alerts.on).toBe(true);
    expect(Object.keys(health.alerts.channels)).toEqual(["slack", "dingtalk", "wecom", "email"]);
    expect(health.alerts.channels.email).toEqual({ state: "ok", detail: null });
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
    const opened = await messagesAbout(encodeURIComponent(key));
    expect(["slack", "dingtalk", "wecom"].map((channel) => opened[channel as "slack"].length)).toEqual([
      1, 1, 1,
    ]);

    await sql("select payguard.repair_balance($1::uuid, $2::timestamptz)", [user, new Date().toISOString()]);
    expect((await ledgerOf(user)).balance).toBe(100);
    await runCron(CRON_HEALTH_AUDIT);
    await runDesk();
    const after = await messagesAbout(encodeURIComponent(key));
    expect(messageText(after.slack[1])).toContain("Resolved");
    expect(messageText(after.dingtalk[1])).toContain("已恢复");
    expect(messageText(after.wecom[1])).toContain("已恢复");
  });
});

describe("Slack buttons end to end", () => {
  it("a signed click acknowledges the incident as slack:<name>, and the original message says who did it", async () => {
    const incident = await openUnknownOrderIncident();
    const click = await slackClick(robot, { action: "acknowledge", key: incident.key });
    expect((await deliverInteraction(click)).status).toBe(200);

    expect(await actionsOn(incident.key)).toEqual([
      { actor: OPERATOR, action: "incident_acknowledge", outcome: "acknowledged" },
    ]);
    expect(await triage(incident.key)).toEqual({ acknowledged_by: OPERATOR, muted_by: null });
    const [update] = slackResponses(await received(robot)).filter((entry) =>
      messageText(entry.payload).includes(encodeURIComponent(incident.key)),
    );
    expect(update).toMatchObject({ accepted: true, payload: { replace_original: true } });
    expect(messageText(update?.payload)).toContain(`Acknowledged by ${OPERATOR}`);
  });

  it("the kind's safe suggestion, Sync order, settles an order whose webhook was lost, as slack:<name>", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = (await stripeScenario("pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
    })) as unknown as {
      sessionId: string;
    };
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
    // The finding the hourly audit raises for such an order (src/incidents/kinds-audit.ts offers a sync).
    const key = `audit:pending_past_expiry:${orderId}`;
    const raised = await desk.raise(
      {
        key,
        kind: "audit_pending_past_expiry",
        severity: "warning",
        summary: `order ${orderId} pending past expiry`,
        detail: { subject: orderId, check_attempts: 3 },
      },
      Date.now(),
    );
    expect(raised.ok).toBe(true);
    await runDesk();
    const click = await slackClick(robot, { action: "sync_order", key });
    expect((await deliverInteraction(click)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
    const synced = await sql<{ actor: string; outcome: string }>(
      "select actor, outcome from payguard.admin_actions where order_id = $1 and action = 'sync'",
      [orderId],
    );
    expect(synced).toEqual([{ actor: OPERATOR, outcome: expect.any(String) }]);
    const updates = slackResponses(await received(robot)).filter((entry) =>
      messageText(entry.payload).includes(encodeURIComponent(key)),
    );
    expect(messageText(updates[0]?.payload)).toContain(`Order synced by ${OPERATOR}`);
  });

  it("a forged click (wrong secret, or a body changed after signing) is refused and changes nothing", async () => {
    const incident = await openUnknownOrderIncident();
    const wrongSecret = await slackClick(robot, {
      action: "mute_1h",
      key: incident.key,
      signingSecret: "f".repeat(32),
    });
    expect((await deliverInteraction(wrongSecret)).status).toBe(401);
    const genuine = await slackClick(robot, { action: "mute_1h", key: incident.key });
    const tampered = {
      ...genuine,
      delivery: { ...genuine.delivery, body: genuine.delivery.body.replace("mute_1h", "acknowledge") },
    };
    expect((await deliverInteraction(tampered)).status).toBe(401);
    expect(await actionsOn(incident.key)).toEqual([]);
    expect(await triage(incident.key)).toEqual({ acknowledged_by: null, muted_by: null });
    expect(slackResponses(await received(robot)).filter((entry) => entry.payload === null)).toEqual([]);
    expect(
      slackResponses(await received(robot)).filter((entry) =>
        messageText(entry.payload).includes(encodeURIComponent(incident.key)),
      ),
    ).toEqual([]);
  });

  it("a stale click (signed correctly, over 5 minutes old) is refused and changes nothing", async () => {
    const incident = await openUnknownOrderIncident();
    const stale = await slackClick(robot, {
      action: "mute_1h",
      key: incident.key,
      timestampS: Math.floor(Date.now() / 1000) - STALE_S,
    });
    expect((await deliverInteraction(stale)).status).toBe(401);
    expect(await actionsOn(incident.key)).toEqual([]);
    expect(await triage(incident.key)).toEqual({ acknowledged_by: null, muted_by: null });
  });

  it("a replayed click changes nothing more than the first one did", async () => {
    const incident = await openUnknownOrderIncident();
    const click = await slackClick(robot, { action: "mute_1h", key: incident.key });
    expect((await deliverInteraction(click)).status).toBe(200);
    const updatesAbout = async () =>
      slackResponses(await received(robot)).filter((entry) =>
        messageText(entry.payload).includes(encodeURIComponent(incident.key)),
      );
    expect(await updatesAbout()).toHaveLength(1);
    expect((await deliverInteraction(click)).status).toBe(200);
    expect((await deliverInteraction(click)).status).toBe(200);
    expect(await actionsOn(incident.key)).toEqual([
      { actor: OPERATOR, action: "incident_mute", outcome: "muted" },
    ]);
    expect(await triage(incident.key)).toEqual({ acknowledged_by: null, muted_by: OPERATOR });
    expect(await updatesAbout()).toHaveLength(1);
  });

  it("a Slack user who is not a configured operator is told so, only to them, and nothing is done", async () => {
    const incident = await openUnknownOrderIncident();
    const before = slackResponses(await received(robot)).length;
    const click = await slackClick(robot, { action: "acknowledge", key: incident.key, userId: "U0STRANGER" });
    expect((await deliverInteraction(click)).status).toBe(200);
    expect(await actionsOn(incident.key)).toEqual([]);
    expect(await triage(incident.key)).toEqual({ acknowledged_by: null, muted_by: null });
    const replies = slackResponses(await received(robot)).slice(before);
    expect(replies).toEqual([
      expect.objectContaining({
        accepted: true,
        payload: expect.objectContaining({ response_type: "ephemeral", replace_original: false }),
      }),
    ]);
    expect(messageText(replies[0]?.payload)).toContain("not configured as a payguard operator");
  });
});
