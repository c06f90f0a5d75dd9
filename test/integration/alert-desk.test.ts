/**
 * The AlertDesk against the sandbox's Slack / DingTalk / WeCom receivers and the local send_email
 * simulation, in workerd: signing, a refused configuration, the open → reminder → worsened → resolved timing
 * under an injected clock, routing rules per kind and severity, durable delivery across a receiver outage
 * and a desk restart, and the database mirror's answers to concurrent writes.
 */
import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { AlertDesk } from "../../src/alerts/alert-desk.ts";
import { parseAlertRoutes } from "../../src/alerts/routes.ts";
import type { IncidentInput } from "../../src/ledger/ports.ts";
import {
  acceptedOn,
  alarmAt,
  clearAlarm,
  configureDesk,
  deskNamed,
  emailsIn,
  messageText,
  newRobot,
  type Robot,
  received,
  receivedWithEmails,
  robotChannels,
  setRobotMode,
} from "../support/worker/alerts.ts";
import { setDatabaseDown, sql } from "../support/worker/harness.ts";

const MINUTE_MS = 60_000;
const REMINDER_MS = 60 * MINUTE_MS;
const stubs: Array<DurableObjectStub<AlertDesk>> = [];

afterEach(async () => {
  for (const stub of stubs.splice(0)) await clearAlarm(stub);
});

/** The three webhook channels (email cannot be taken down by a robot's fault modes). */
const webhookChannels = (robot: Robot, override = {}) =>
  robotChannels(robot, override).filter((channel) => channel.name !== "email");

async function freshDesk(robot: Robot, override = {}) {
  const stub = deskNamed(`desk-${crypto.randomUUID()}`);
  stubs.push(stub);
  await configureDesk(stub, { channels: webhookChannels(robot, override), reminderIntervalMs: REMINDER_MS });
  return stub;
}

const incident = (key: string, severity: IncidentInput["severity"] = "warning"): IncidentInput => ({
  key,
  kind: "unknown_order",
  severity,
  summary: `payment ${key} matches no order`,
  detail: { order_id: "ord_x", amount_minor: 1999, currency: "USD" },
});

describe("AlertDesk: DingTalk signing and configuration errors", () => {
  it("signs DingTalk messages so the receiver's own check accepts them", async () => {
    const robot = await newRobot();
    const desk = await freshDesk(robot);
    const key = `sign-${crypto.randomUUID()}`;
    const nowMs = Date.now();
    expect(await desk.raise(incident(key), nowMs)).toEqual({ ok: true, value: undefined });
    const status = await desk.tick(nowMs);
    const dingtalk = (await received(robot)).filter((entry) => entry.channel === "dingtalk");
    expect(dingtalk).toEqual([expect.objectContaining({ accepted: true, errcode: 0 })]);
    expect(messageText(dingtalk[0]?.payload)).toContain(encodeURIComponent(key));
    expect(status.channels.map((channel) => channel.state)).toEqual(["ok", "ok", "ok"]);
  });

  it("shows a wrong secret as a configuration error and stops retrying until the setting changes", async () => {
    const robot = await newRobot();
    const desk = await freshDesk(robot, { dingtalk: { secret: "SECnot-the-right-secret" } });
    const nowMs = Date.now();
    await desk.raise(incident(`wrong-secret-${crypto.randomUUID()}`), nowMs);
    const status = await desk.tick(nowMs);
    expect(status.channels.find((channel) => channel.name === "dingtalk")).toMatchObject({
      state: "config_error",
      detail: expect.stringContaining("310000"),
      failedMessages: 1,
    });
    // Hours of alarms later, still exactly one attempt: no endless retry.
    for (let hour = 1; hour <= 5; hour += 1) await desk.tick(nowMs + hour * REMINDER_MS);
    const refused = (await received(robot)).filter((entry) => entry.channel === "dingtalk");
    expect(refused.map((entry) => entry.errcode)).toEqual([310000]);
    // Fixing the secret sends the parked message (and the reminders queued meanwhile).
    await configureDesk(desk, { channels: webhookChannels(robot), reminderIntervalMs: REMINDER_MS });
    const fixed = await desk.tick(nowMs + 6 * REMINDER_MS);
    expect(fixed.channels.find((channel) => channel.name === "dingtalk")).toMatchObject({
      state: "ok",
      failedMessages: 0,
    });
    expect(acceptedOn(await received(robot), "dingtalk").length).toBeGreaterThanOrEqual(1);
  });
});

describe("AlertDesk: open → reminder → worsened → resolved under an injected clock", () => {
  it("posts when opened, reminds after the interval, posts a worsening, and reports the resolution", async () => {
    const robot = await newRobot();
    const desk = await freshDesk(robot);
    const key = `timing-${crypto.randomUUID()}`;
    const t0 = Date.now();
    const slackTexts = async () =>
      acceptedOn(await received(robot), "slack").map((entry) => messageText(entry.payload));

    await desk.raise(incident(key), t0);
    await desk.tick(t0);
    expect(await alarmAt(desk)).toBe(t0 + REMINDER_MS);
    await desk.raise(incident(key), t0 + 10 * MINUTE_MS); // same severity again: counted, not posted
    await desk.tick(t0 + REMINDER_MS - 1);
    expect(await slackTexts()).toEqual([expect.stringContaining("[warning] New: ")]);

    await desk.tick(t0 + REMINDER_MS);
    expect((await slackTexts())[1]).toContain("Still open");
    expect(await alarmAt(desk)).toBe(t0 + 2 * REMINDER_MS);

    await desk.raise(incident(key, "critical"), t0 + 70 * MINUTE_MS);
    await desk.tick(t0 + 70 * MINUTE_MS);
    expect((await slackTexts())[2]).toContain("[critical] Worse");
    expect(await alarmAt(desk)).toBe(t0 + 130 * MINUTE_MS);

    await desk.resolve(key, t0 + 125 * MINUTE_MS);
    await desk.tick(t0 + 125 * MINUTE_MS);
    await desk.tick(t0 + 200 * MINUTE_MS);
    const texts = await slackTexts();
    expect(texts).toHaveLength(4);
    expect(texts[3]).toContain("Resolved");
    expect(texts[3]).toContain("Lasted 2 h 5 min, fired 3 time(s).");
    const dingtalk = acceptedOn(await received(robot), "dingtalk").map((entry) => messageText(entry.payload));
    expect(
      dingtalk.map((text) => ["新告警", "仍未处理", "升级", "已恢复"].find((word) => text.includes(word))),
    ).toEqual(["新告警", "仍未处理", "升级", "已恢复"]);
    const [row] = await sql<{ status: string; severity: string; occurrences: number }>(
      "select status, severity, occurrences from payguard.incidents where key = $1",
      [key],
    );
    expect(row).toEqual({ status: "resolved", severity: "critical", occurrences: 3 });
  });

  it("sends no reminder for an acknowledged incident, and none for a muted one until the mute ends", async () => {
    const robot = await newRobot();
    const desk = await freshDesk(robot);
    const acked = `acked-${crypto.randomUUID()}`;
    const muted = `muted-${crypto.randomUUID()}`;
    const t0 = Date.now();
    await desk.raise(incident(acked), t0);
    await desk.raise(incident(muted), t0);
    await desk.tick(t0);
    expect(await desk.acknowledge(acked, "ops@example.com", t0 + MINUTE_MS)).toEqual({
      ok: true,
      value: { found: true },
    });
    expect(await desk.mute(muted, t0 + 3 * REMINDER_MS, "ops@example.com", t0 + MINUTE_MS)).toEqual({
      ok: true,
      value: { found: true },
    });
    for (let hour = 1; hour < 3; hour += 1) await desk.tick(t0 + hour * REMINDER_MS);
    const before = acceptedOn(await received(robot), "slack").length;
    await desk.tick(t0 + 3 * REMINDER_MS);
    const after = acceptedOn(await received(robot), "slack").map((entry) => messageText(entry.payload));
    expect(after).toHaveLength(before + 1);
    expect(after[after.length - 1]).toContain(encodeURIComponent(muted));
    expect(after.join("\n")).not.toMatch(new RegExp(`Still open[^"]*${encodeURIComponent(acked)}`));
    const [row] = await sql<{ acknowledged_by: string }>(
      "select acknowledged_by from payguard.incidents where key = $1",
      [acked],
    );
    expect(row?.acknowledged_by).toBe("ops@example.com");
  });
});

describe("AlertDesk: routing rules", () => {
  it("sends warnings only by email and criticals everywhere; a resolution reaches every channel that heard", async () => {
    const robot = await newRobot();
    const stub = deskNamed(`desk-${crypto.randomUUID()}`);
    stubs.push(stub);
    const problems: string[] = [];
    const routes = parseAlertRoutes("everywhere; *:warning=email; *:info=none", problems);
    expect(problems).toEqual([]);
    await configureDesk(stub, {
      channels: robotChannels(robot),
      reminderIntervalMs: REMINDER_MS,
      routes: routes ?? undefined,
    });
    const quiet = `route-warning-${crypto.randomUUID()}`;
    const loud = `route-critical-${crypto.randomUUID()}`;
    const muted = `route-info-${crypto.randomUUID()}`;
    const t0 = Date.now();
    const run = async (fromMs: number, work: () => Promise<unknown>) => {
      await work();
      for (let at = fromMs; at <= fromMs + MINUTE_MS; at += 5_000) await stub.tick(at);
    };
    await run(t0, () => stub.raise(incident(quiet, "warning"), t0));
    await run(t0 + 2 * MINUTE_MS, () => stub.resolve(quiet, t0 + 2 * MINUTE_MS));
    await run(t0 + 4 * MINUTE_MS, async () => {
      await stub.raise(incident(loud, "critical"), t0 + 4 * MINUTE_MS);
      await stub.raise(incident(muted, "info"), t0 + 4 * MINUTE_MS);
    });
    await run(t0 + 6 * MINUTE_MS, () => stub.resolve(loud, t0 + 6 * MINUTE_MS));

    const log = await receivedWithEmails(robot, 4);
    const about = (channel: "slack" | "dingtalk" | "wecom", key: string) =>
      acceptedOn(log, channel).filter((entry) =>
        messageText(entry.payload).includes(encodeURIComponent(key)),
      );
    for (const channel of ["slack", "dingtalk", "wecom"] as const) {
      expect(about(channel, quiet), channel).toEqual([]);
      expect(about(channel, loud), channel).toHaveLength(2); // opened and resolved
      expect(about(channel, muted), channel).toEqual([]);
    }
    const mails = emailsIn(log);
    const mailsAbout = (key: string) => mails.filter((mail) => mail.text.includes(encodeURIComponent(key)));
    expect(mailsAbout(quiet).map((mail) => mail.subject)).toEqual([
      expect.stringMatching(/^\[warning\] unknown_order · New: /),
      expect.stringMatching(/^\[warning\] unknown_order · Resolved: /),
    ]);
    expect(mailsAbout(loud)).toHaveLength(2);
    expect(mailsAbout(muted)).toEqual([]);
  });
});

describe("AlertDesk: durable delivery", () => {
  it("delivers every message exactly once after a 10-minute outage, across a desk restart", async () => {
    const robot = await newRobot();
    const settings = { channels: webhookChannels(robot), reminderIntervalMs: REMINDER_MS };
    const desk = await freshDesk(robot);
    const keys = [0, 1, 2].map((i) => `outage-${i}-${crypto.randomUUID()}`);
    const t0 = Date.now();
    await setRobotMode(robot, { down: true });
    await desk.raise(incident(keys[0] as string, "critical"), t0);
    await desk.tick(t0);
    expect(await alarmAt(desk)).toBe(t0 + 30_000); // first retry, by alarm
    await desk.raise(incident(keys[1] as string), t0 + 2 * MINUTE_MS);
    for (let at = t0; at < t0 + 5 * MINUTE_MS; at += 15_000) await desk.tick(at);

    await evictDurableObject(desk); // restart: only what is in SQLite survives
    await configureDesk(desk, settings);
    await desk.raise(incident(keys[2] as string), t0 + 6 * MINUTE_MS);
    for (let at = t0 + 5 * MINUTE_MS; at < t0 + 10 * MINUTE_MS; at += 15_000) await desk.tick(at);
    const duringOutage = await received(robot);
    expect(duringOutage.every((entry) => !entry.accepted)).toBe(true);

    await setRobotMode(robot, { down: false });
    for (let at = t0 + 10 * MINUTE_MS; at <= t0 + 40 * MINUTE_MS; at += 15_000) await desk.tick(at);
    const log = await received(robot);
    for (const channel of ["slack", "dingtalk", "wecom"] as const) {
      const accepted = acceptedOn(log, channel).map((entry) => messageText(entry.payload));
      expect(new Set(accepted).size).toBe(accepted.length); // no message twice
      for (const key of keys) {
        const opened = accepted.filter((text) => text.includes(encodeURIComponent(key)));
        expect(opened, `${channel} ${key}`).toHaveLength(1);
      }
    }
    const status = await desk.status();
    expect(status.channels.map((channel) => [channel.state, channel.queuedMessages])).toEqual([
      ["ok", 0],
      ["ok", 0],
      ["ok", 0],
    ]);
  });

  it("with no channel, still records incidents; a mirror the database missed is written from the alarm", async () => {
    const stub = deskNamed(`desk-${crypto.randomUUID()}`);
    stubs.push(stub);
    await configureDesk(stub, { channels: [], reminderIntervalMs: REMINDER_MS });
    const key = `mirror-${crypto.randomUUID()}`;
    const nowMs = Date.now();
    await setDatabaseDown(true);
    try {
      expect(await stub.raise(incident(key), nowMs)).toMatchObject({
        ok: false,
        error: { kind: "transient" },
      });
    } finally {
      await setDatabaseDown(false);
    }
    expect(await stub.status()).toMatchObject({ enabled: false, openIncidents: 1, mirrorBacklog: 1 });
    expect(await alarmAt(stub)).toBe(nowMs + 15_000);
    await stub.tick(nowMs + 15_000);
    expect((await stub.status()).mirrorBacklog).toBe(0);
    const rows = await sql<{ status: string }>("select status from payguard.incidents where key = $1", [key]);
    expect(rows).toEqual([{ status: "open" }]);
  });

  it("answers stored to every concurrent write, also one an earlier caller's drain wrote for it", async () => {
    const stub = deskNamed(`desk-${crypto.randomUUID()}`);
    stubs.push(stub);
    await configureDesk(stub, { channels: [], reminderIntervalMs: REMINDER_MS });
    const keys = Array.from({ length: 8 }, () => `concurrent-${crypto.randomUUID()}`);
    const nowMs = Date.now();
    const answers = await Promise.all(keys.map((key) => stub.raise(incident(key), nowMs)));
    expect(answers).toEqual(keys.map(() => ({ ok: true, value: undefined })));
    expect((await stub.status()).mirrorBacklog).toBe(0);
    const rows = await sql<{ key: string }>("select key from payguard.incidents where key = any($1)", [keys]);
    expect(rows).toHaveLength(keys.length);
  });
});
