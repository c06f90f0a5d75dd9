/**
 * The AlertDesk's SQLite tables and the small queries over them. Everything the desk promises survives a
 * restart because it is here before anyone is told "stored": incidents, notices waiting for a channel,
 * messages (stored before their first attempt), channel health and the queue of writes to the database mirror.
 */
import type { IncidentInput } from "../ledger/ports.ts";
import type { Notice, Severity } from "./notice.ts";
import type { ChannelName } from "./settings.ts";

const SCHEMA = [
  `create table if not exists incidents (key text primary key, kind text not null, severity text not null,
     summary text not null, detail text not null, status text not null, opened_at integer not null,
     last_seen_at integer not null, fires integer not null, resolved_at integer, last_posted_at integer not null,
     acknowledged_at integer, acknowledged_by text, muted_until integer, muted_by text, channels text)`,
  `create table if not exists notices (id integer primary key autoincrement, severity_rank integer not null,
     at_ms integer not null, notice text not null)`,
  "create table if not exists pending (channel text not null, notice_id integer not null, primary key (channel, notice_id))",
  `create table if not exists messages (id integer primary key autoincrement, channel text not null,
     payload text not null, incidents integer not null, created_at integer not null, attempts integer not null,
     next_at integer not null, status text not null, last_error text, sent_at integer)`,
  "create index if not exists messages_by_channel on messages (channel, status, id)",
  `create table if not exists channel_state (channel text primary key, fingerprint text not null,
     state text not null, detail text, since integer not null)`,
  `create table if not exists mirror (id integer primary key autoincrement, op text not null, args text not null,
     attempts integer not null, next_at integer not null)`,
  // Signatures of Slack interaction requests already acted on (replay protection), kept past Slack's window.
  "create table if not exists slack_requests (signature text primary key, seen_at integer not null)",
];

/** Columns added after a desk's tables were first created: added in place, once. */
const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; type: string }> = [
  { table: "incidents", column: "channels", type: "text" },
];

export function createTables(sql: SqlStorage): void {
  for (const statement of SCHEMA) sql.exec(statement);
  for (const { table, column, type } of ADDED_COLUMNS) {
    const present = sql
      .exec<{ n: number }>("select count(*) as n from pragma_table_info(?) where name = ?", table, column)
      .one().n;
    if (present === 0) sql.exec(`alter table ${table} add column ${column} ${type}`);
  }
}

export type IncidentRow = {
  key: string;
  kind: string;
  severity: Severity;
  summary: string;
  detail: string;
  status: "open" | "resolved";
  opened_at: number;
  last_seen_at: number;
  fires: number;
  resolved_at: number | null;
  last_posted_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  muted_until: number | null;
  muted_by: string | null;
  /** JSON list of the channels told about this incident so far (its resolution goes to all of them). */
  channels: string | null;
};

export type MessageRow = {
  id: number;
  channel: ChannelName;
  payload: string;
  incidents: number;
  created_at: number;
  attempts: number;
  next_at: number;
  status: "queued" | "sent" | "failed";
  last_error: string | null;
  sent_at: number | null;
};

export type MirrorOp =
  | { op: "open"; incident: IncidentInput; nowMs: number }
  | { op: "resolve"; key: string; nowMs: number }
  | { op: "acknowledge"; key: string; actor: string; nowMs: number }
  | { op: "mute"; key: string; untilMs: number; actor: string; nowMs: number };

export type MirrorRow = {
  id: number;
  op: string;
  args: string;
  attempts: number;
  next_at: number;
};

export function openIncident(sql: SqlStorage, key: string): IncidentRow | null {
  return (
    sql.exec<IncidentRow>("select * from incidents where key = ? and status = 'open'", key).toArray()[0] ??
    null
  );
}

export function noticeFrom(row: IncidentRow, event: Notice["event"], atMs: number): Notice {
  return {
    key: row.key,
    kind: row.kind,
    severity: row.severity,
    summary: row.summary,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    event,
    atMs,
    openedAtMs: row.opened_at,
    fires: row.fires,
  };
}

/** Queues one notice for every configured channel. */
export function addNotice(
  sql: SqlStorage,
  notice: Notice,
  rank: number,
  channels: readonly ChannelName[],
): void {
  const id = sql
    .exec<{ id: number }>(
      "insert into notices (severity_rank, at_ms, notice) values (?, ?, ?) returning id",
      rank,
      notice.atMs,
      JSON.stringify(notice),
    )
    .one().id;
  for (const channel of channels)
    sql.exec("insert into pending (channel, notice_id) values (?, ?)", channel, id);
}

/** Notices waiting for `channel`, most severe first, then oldest first. */
export function pendingNotices(sql: SqlStorage, channel: ChannelName): Array<{ id: number; notice: Notice }> {
  return sql
    .exec<{ id: number; notice: string }>(
      `select n.id, n.notice from pending p join notices n on n.id = p.notice_id
        where p.channel = ? order by n.severity_rank desc, n.at_ms, n.id`,
      channel,
    )
    .toArray()
    .map((row) => ({ id: row.id, notice: JSON.parse(row.notice) as Notice }));
}

/** Drops notices every channel has taken into a message. */
export function pruneNotices(sql: SqlStorage): void {
  sql.exec("delete from notices where id not in (select notice_id from pending)");
}

export function sentSince(sql: SqlStorage, channel: ChannelName, sinceMs: number): number[] {
  return sql
    .exec<{ sent_at: number }>(
      "select sent_at from messages where channel = ? and status = 'sent' and sent_at > ? order by sent_at",
      channel,
      sinceMs,
    )
    .toArray()
    .map((row) => row.sent_at);
}

export function lastSentAt(sql: SqlStorage, channel: ChannelName): number | null {
  return (
    sql
      .exec<{ at: number | null }>(
        "select max(sent_at) as at from messages where channel = ? and status = 'sent'",
        channel,
      )
      .one().at ?? null
  );
}

export function nextQueued(sql: SqlStorage, channel: ChannelName): MessageRow | null {
  return (
    sql
      .exec<MessageRow>(
        "select * from messages where channel = ? and status = 'queued' order by id limit 1",
        channel,
      )
      .toArray()[0] ?? null
  );
}

export function pendingCount(sql: SqlStorage, channel: ChannelName): number {
  return sql.exec<{ n: number }>("select count(*) as n from pending where channel = ?", channel).one().n;
}

/** Sent messages and resolved incidents are kept this long for status and the resolved message's history. */
export const DESK_HISTORY_KEPT_MS = 7 * 24 * 60 * 60_000;

/** Longer than Slack's 5-minute window either side, so a replay inside the window is always recognised. */
export const SLACK_REQUESTS_KEPT_MS = 15 * 60_000;

export function pruneHistory(sql: SqlStorage, nowMs: number): void {
  const before = nowMs - DESK_HISTORY_KEPT_MS;
  sql.exec("delete from messages where status = 'sent' and sent_at < ?", before);
  sql.exec("delete from incidents where status = 'resolved' and resolved_at < ?", before);
  sql.exec("delete from slack_requests where seen_at < ?", nowMs - SLACK_REQUESTS_KEPT_MS);
}

/** true the first time a (verified) Slack request signature is seen; false for a replay. */
export function claimSlackRequest(sql: SqlStorage, signature: string, nowMs: number): boolean {
  sql.exec("delete from slack_requests where seen_at < ?", nowMs - SLACK_REQUESTS_KEPT_MS);
  return (
    sql.exec(
      "insert into slack_requests (signature, seen_at) values (?, ?) on conflict (signature) do nothing",
      signature,
      nowMs,
    ).rowsWritten > 0
  );
}
