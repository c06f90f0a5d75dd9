/**
 * Storm control: 500 incidents raised within one minute reach every channel (Slack, DingTalk, WeCom and
 * email through the send_email binding) as digests, most severe first, never more messages than the
 * channel allows, and every incident appears in some message.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { AlertDesk } from "../../src/alerts/alert-desk.ts";
import { CHANNEL_LIMITS } from "../../src/alerts/channels/types.ts";
import type { IncidentInput } from "../../src/ledger/ports.ts";
import {
  acceptedOn,
  clearAlarm,
  configureDesk,
  deskNamed,
  messageText,
  newRobot,
  type Received,
  receivedWithEmails,
  robotChannels,
} from "../support/worker/alerts.ts";
import { sandbox } from "../support/worker/harness.ts";

const INCIDENTS = 500;
const RAISE_SECONDS = 50;
const MINUTE_MS = 60_000;
const desk = deskNamed(`storm-${crypto.randomUUID()}`);

afterAll(async () => {
  await clearAlarm(desk);
  await sandbox("clock", { setMs: Date.now() });
});

/** The receivers count their per-minute limits on the sandbox's clock: keep it on the desk's time, so ten
 * minutes of the desk's storm are ten minutes for the receivers too, not the few seconds the test takes. */
async function tickAt(at: number): Promise<void> {
  await sandbox("clock", { setMs: at });
  await desk.tick(at);
}

const severityOf = (i: number): IncidentInput["severity"] =>
  i % 7 === 0 ? "critical" : i % 3 === 0 ? "info" : "warning";

/** The most messages the desk sent in any rolling minute, and the smallest gap between two. */
async function sentTimes(channel: string): Promise<number[]> {
  return runInDurableObject(desk, (_desk: AlertDesk, state) =>
    state.storage.sql
      .exec<{ sent_at: number }>(
        "select sent_at from messages where channel = ? and status = 'sent' order by sent_at",
        channel,
      )
      .toArray()
      .map((row) => row.sent_at),
  );
}

/** What a person reads in one message: the email's text part, the webhook body for the others. */
const readable = (entry: Received): string =>
  entry.channel === "email" ? (entry.payload as { text: string }).text : messageText(entry.payload);

function busiestMinute(times: number[]): number {
  return Math.max(
    0,
    ...times.map((start) => times.filter((at) => at >= start && at < start + MINUTE_MS).length),
  );
}

describe("AlertDesk storm control", () => {
  it("turns 500 incidents in one minute into digests within each channel's limit, covering every incident", async () => {
    const robot = await newRobot();
    await configureDesk(desk, { channels: robotChannels(robot), reminderIntervalMs: 60 * MINUTE_MS });
    const run = crypto.randomUUID().slice(0, 8);
    const keyOf = (i: number) => `storm-${run}-${i}`;
    const t0 = Date.now();
    const perSecond = INCIDENTS / RAISE_SECONDS;
    for (let second = 0; second < RAISE_SECONDS; second += 1) {
      const at = t0 + second * 1000;
      for (let j = 0; j < perSecond; j += 1) {
        const i = second * perSecond + j;
        const raised = await desk.raise(
          {
            key: keyOf(i),
            kind: "unknown_order",
            severity: severityOf(i),
            summary: "payment matches no order",
            detail: {},
          },
          at,
        );
        expect(raised.ok).toBe(true);
      }
      await tickAt(at);
    }
    for (let at = t0 + RAISE_SECONDS * 1000; at <= t0 + 10 * MINUTE_MS; at += 1000) await tickAt(at);

    const emailsSent = (await sentTimes("email")).length;
    const log = await receivedWithEmails(robot, emailsSent);
    expect(
      log.filter((entry) => !entry.accepted).map((entry) => [entry.channel, entry.status, entry.errcode]),
    ).toEqual([]);
    const keyPattern = new RegExp(`storm-${run}-(\\d+)`, "g");
    for (const channel of ["slack", "dingtalk", "wecom", "email"] as const) {
      const times = await sentTimes(channel);
      const texts = acceptedOn(log, channel).map((entry) => readable(entry));
      expect(texts, channel).toHaveLength(times.length);
      expect(busiestMinute(times)).toBeLessThanOrEqual(CHANNEL_LIMITS[channel].perMinuteMax);
      const gaps = times.slice(1).map((at, index) => at - (times[index] as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(CHANNEL_LIMITS[channel].intervalMs);
      const seen = new Set([...texts.join("\n").matchAll(keyPattern)].map((match) => Number(match[1])));
      const missing = Array.from({ length: INCIDENTS }, (_, i) => i).filter((i) => !seen.has(i));
      expect(missing, channel).toEqual([]);
      // Most severe first inside a digest: no critical line after a warning line.
      for (const text of texts) {
        const firstWarning = text.indexOf("🟠");
        const lastCritical = text.lastIndexOf("🔴");
        if (firstWarning >= 0 && lastCritical >= 0) expect(lastCritical).toBeLessThan(firstWarning);
      }
    }
  }, 120_000);
});
