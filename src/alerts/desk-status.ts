/**
 * The desk's status for /health and the dashboard: whether alerts are on, and for each configured channel
 * whether it is delivering, what waits for it and when it last sent. Read-only over the desk's SQLite.
 */
import type { ChannelHealth } from "./desk-delivery.ts";
import { mirrorBacklog } from "./desk-mirror.ts";
import { pendingCount } from "./desk-tables.ts";
import type { ChannelName, ChannelSettings } from "./settings.ts";

export interface ChannelStatus {
  name: ChannelName;
  state: ChannelHealth;
  /** Why the channel is retrying or refused (an error code and the channel's message, never a secret). */
  detail: string | null;
  sinceMs: number | null;
  queuedMessages: number;
  failedMessages: number;
  pendingNotices: number;
  lastSentAtMs: number | null;
}

export interface DeskStatus {
  /** false when no channel is configured: incidents are still recorded and mirrored. */
  enabled: boolean;
  channels: ChannelStatus[];
  openIncidents: number;
  /** Incident writes waiting for the database. */
  mirrorBacklog: number;
}

export function deskStatus(sql: SqlStorage, channels: readonly ChannelSettings[]): DeskStatus {
  const rows = sql
    .exec<{ channel: string; state: ChannelHealth; detail: string | null; since: number }>(
      "select * from channel_state",
    )
    .toArray();
  const counts = (channel: string, status: string) =>
    sql
      .exec<{ n: number }>(
        "select count(*) as n from messages where channel = ? and status = ?",
        channel,
        status,
      )
      .one().n;
  const statuses = channels.map((channel): ChannelStatus => {
    const row = rows.find((candidate) => candidate.channel === channel.name);
    const last = sql
      .exec<{ at: number | null }>("select max(sent_at) as at from messages where channel = ?", channel.name)
      .one().at;
    return {
      name: channel.name,
      state: row?.state ?? "ok",
      detail: row?.detail ?? null,
      sinceMs: row?.since ?? null,
      queuedMessages: counts(channel.name, "queued"),
      failedMessages: counts(channel.name, "failed"),
      pendingNotices: pendingCount(sql, channel.name),
      lastSentAtMs: last ?? null,
    };
  });
  const open = sql.exec<{ n: number }>("select count(*) as n from incidents where status = 'open'").one().n;
  return {
    enabled: statuses.length > 0,
    channels: statuses,
    openIncidents: open,
    mirrorBacklog: mirrorBacklog(sql),
  };
}
