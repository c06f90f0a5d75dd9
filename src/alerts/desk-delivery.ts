/**
 * Delivery for one channel: compose pending notices into a message (stored before the first attempt),
 * send the oldest queued message when the channel's limits allow, and record what happened.
 *
 * Limits (storm control): never more than the channel's per-minute maximum, never faster than its interval,
 * and after STORM_BURST_MAX messages within a minute the channel only sends a digest every
 * STORM_DIGEST_INTERVAL_MS, so a storm becomes a few digests instead of a flood.
 * Retries: the channel's own wait (Slack Retry-After, DingTalk throttling) or exponential backoff.
 * A configuration refusal parks the message as `failed` and the channel as `config_error` until the
 * channel's settings change (then the parked messages are queued again).
 */
import { log } from "../log.ts";
import { SENDERS } from "./channels/index.ts";
import { CHANNEL_LIMITS, type SendIo, type SendOutcome } from "./channels/types.ts";
import { compose } from "./compose.ts";
import {
  lastSentAt,
  nextQueued,
  pendingCount,
  pendingNotices,
  pruneNotices,
  sentSince,
} from "./desk-tables.ts";
import type { ChannelSettings } from "./settings.ts";

export const STORM_BURST_MAX = 3;
export const STORM_DIGEST_INTERVAL_MS = 10_000;
export const ALERT_RETRY_BASE_MS = 30_000;
export const ALERT_RETRY_MAX_MS = 15 * 60_000;
/** Messages one channel may send in one tick (the limits above stop it long before this). */
const MESSAGES_PER_TICK_MAX = 20;
const MINUTE_MS = 60_000;

export type ChannelHealth = "ok" | "retrying" | "config_error";

export const retryBackoffMs = (attempts: number): number =>
  Math.min(ALERT_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), ALERT_RETRY_MAX_MS);

/** The earliest time the channel may send its next message. */
export function readyAt(sql: SqlStorage, channel: ChannelSettings, nowMs: number): number {
  const limits = CHANNEL_LIMITS[channel.name];
  const recent = sentSince(sql, channel.name, nowMs - MINUTE_MS);
  const last = lastSentAt(sql, channel.name);
  let at = last === null ? nowMs : last + limits.intervalMs;
  if (recent.length >= limits.perMinuteMax)
    at = Math.max(at, (recent[recent.length - limits.perMinuteMax] ?? 0) + MINUTE_MS);
  if (last !== null && recent.length >= STORM_BURST_MAX) at = Math.max(at, last + STORM_DIGEST_INTERVAL_MS);
  return at;
}

function queueMessage(
  sql: SqlStorage,
  channel: ChannelSettings,
  publicBaseUrl: string,
  nowMs: number,
): boolean {
  const pending = pendingNotices(sql, channel.name);
  if (pending.length === 0) return false;
  const sender = SENDERS[channel.name];
  const limits = CHANNEL_LIMITS[channel.name];
  const notices = pending.map((entry) => entry.notice);
  const composed = compose(notices, channel.language, publicBaseUrl, sender.markup, {
    maxBytes: limits.bodyBytesMax,
    itemsMax: limits.digestItemsMax,
  });
  sql.exec(
    `insert into messages (channel, payload, incidents, created_at, attempts, next_at, status)
     values (?, ?, ?, ?, 0, ?, 'queued')`,
    channel.name,
    JSON.stringify(sender.payload(composed, channel)),
    composed.taken,
    nowMs,
    nowMs,
  );
  for (const entry of pending.slice(0, composed.taken))
    sql.exec("delete from pending where channel = ? and notice_id = ?", channel.name, entry.id);
  pruneNotices(sql);
  return true;
}

export function setHealth(
  sql: SqlStorage,
  channel: string,
  fingerprint: string,
  state: ChannelHealth,
  detail: string | null,
  nowMs: number,
): void {
  sql.exec(
    `insert into channel_state (channel, fingerprint, state, detail, since) values (?, ?, ?, ?, ?)
     on conflict (channel) do update set fingerprint = excluded.fingerprint, detail = excluded.detail,
       since = case when channel_state.state = excluded.state then channel_state.since else excluded.since end,
       state = excluded.state`,
    channel,
    fingerprint,
    state,
    detail,
    nowMs,
  );
}

function record(
  sql: SqlStorage,
  channel: ChannelSettings,
  fingerprint: string,
  id: number,
  attempts: number,
  outcome: SendOutcome,
  nowMs: number,
): void {
  if (outcome.kind === "sent") {
    sql.exec(
      "update messages set status = 'sent', sent_at = ?, attempts = ?, last_error = null where id = ?",
      nowMs,
      attempts,
      id,
    );
    setHealth(sql, channel.name, fingerprint, "ok", null, nowMs);
    return;
  }
  const status = outcome.kind === "config" ? "failed" : "queued";
  const nextAt =
    nowMs + Math.max(outcome.kind === "retry" ? (outcome.afterMs ?? 0) : 0, retryBackoffMs(attempts));
  // What is left of the message (an email some recipients already got) replaces the stored body.
  if (outcome.kind === "retry" && outcome.payload !== undefined)
    sql.exec("update messages set payload = ? where id = ?", JSON.stringify(outcome.payload), id);
  sql.exec(
    "update messages set status = ?, attempts = ?, next_at = ?, last_error = ? where id = ?",
    status,
    attempts,
    nextAt,
    outcome.reason,
    id,
  );
  const health = outcome.kind === "config" ? "config_error" : "retrying";
  setHealth(sql, channel.name, fingerprint, health, outcome.reason, nowMs);
  log(outcome.kind === "config" ? "error" : "warn", `alert_${health}`, {
    channel: channel.name,
    reason: outcome.reason,
    attempts,
  });
}

/** Sends what the channel may send now; stops at the first failure (messages go out in order). */
export async function deliverChannel(
  sql: SqlStorage,
  channel: ChannelSettings,
  fingerprint: string,
  publicBaseUrl: string,
  io: SendIo,
  nowMs: number,
): Promise<void> {
  for (let sent = 0; sent < MESSAGES_PER_TICK_MAX; sent += 1) {
    if (readyAt(sql, channel, nowMs) > nowMs) return;
    const message =
      nextQueued(sql, channel.name) ??
      (queueMessage(sql, channel, publicBaseUrl, nowMs) ? nextQueued(sql, channel.name) : null);
    if (!message || message.next_at > nowMs) return;
    const attempts = message.attempts + 1;
    const outcome = await SENDERS[channel.name].send(channel, JSON.parse(message.payload), io);
    record(sql, channel, fingerprint, message.id, attempts, outcome, nowMs);
    if (outcome.kind !== "sent") return;
  }
}

/** When this channel next has something to do, for the alarm; null when idle. */
export function channelDueAt(sql: SqlStorage, channel: ChannelSettings, nowMs: number): number | null {
  const queued = nextQueued(sql, channel.name);
  const waiting = queued ? queued.next_at : pendingCount(sql, channel.name) > 0 ? nowMs : null;
  return waiting === null ? null : Math.max(waiting, readyAt(sql, channel, nowMs));
}
