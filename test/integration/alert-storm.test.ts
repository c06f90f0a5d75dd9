/**
 * Storm control: 500 incidents raised within one minute reach every channel as digests, most severe
 * first, never more messages than the channel allows, and every incident appears in some message.
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
  received,
  robotChannels,
} from "../support/worker/alerts.ts";

const INCIDENTS = 500;
const RAISE_SECONDS = 50;
const MINUTE_MS = 60_000;
const desk = deskNamed(`storm-${crypto.randomUUID()}`);

afterAll(() => clearAlarm(desk));

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
      await desk.tick(at);
    }
    for (let at = t0 + RAISE_SECONDS * 1000; at <= t0 + 10 * MINUTE_MS; at += 1000) await desk.tick(at);

    const log = await received(robot);
    expect(
      log.filter((entry) => !entry.accepted).map((entry) => [entry.channel, entry.status, entry.errcode]),
    ).toEqual([]);
    for (const channel of ["slack", "dingtalk", "wecom"] as const) {
      const times = await sentTimes(channel);
      const texts = acceptedOn(log, channel).map((entry) => messageText(entry.payload));
      expect(texts).toHaveLength(times.length);
      expect(busiestMinute(times)).toBeLessThanOrEqual(CHANNEL_LIMITS[channel].perMinuteMax);
      const gaps = times.slice(1).map((at, index) => at - (times[index] as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(CHANNEL_LIMITS[channel].intervalMs);
      const all = texts.join("\n");
      const missing = Array.from({ length: INCIDENTS }, (_, i) => keyOf(i)).filter(
        (key) => !all.includes(`${key})`) && !all.includes(`${key}|`) && !all.includes(`${key}>`),
      );
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
