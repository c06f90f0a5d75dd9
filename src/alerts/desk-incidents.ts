/**
 * Incident bookkeeping inside the desk (synchronous SQLite, so each call is one atomic step): when an
 * incident opens, worsens, is due a reminder or clears, a notice is queued for every channel.
 *
 * Reminder rule: an open incident is posted again `reminderIntervalMs` after its last post, unless someone
 * acknowledged it (a person is on it) or muted it until later. A worsening (severity up) and the
 * resolution always post, acknowledged or muted.
 *
 * Routing: a notice goes to the channels the routing rules give its kind and current severity; the
 * resolution goes to every channel that heard about the incident, so nobody is left with an open alert.
 */
import type { IncidentInput } from "../ledger/ports.ts";
import { addNotice, type IncidentRow, noticeFrom, openIncident } from "./desk-tables.ts";
import { type NoticeEvent, type Severity, severityRank } from "./notice.ts";
import type { ChannelName } from "./settings.ts";

/** The channels a notice about this kind at this severity goes to (routing rules over configured channels). */
export type Router = (kind: string, severity: Severity) => ChannelName[];

export function recordRaise(
  sql: SqlStorage,
  incident: IncidentInput,
  nowMs: number,
  route: Router,
): NoticeEvent | null {
  const existing = openIncident(sql, incident.key);
  if (!existing) {
    sql.exec("delete from incidents where key = ?", incident.key);
    sql.exec(
      `insert into incidents (key, kind, severity, summary, detail, status, opened_at, last_seen_at, fires, last_posted_at)
       values (?, ?, ?, ?, ?, 'open', ?, ?, 1, ?)`,
      incident.key,
      incident.kind,
      incident.severity,
      incident.summary,
      JSON.stringify(incident.detail),
      nowMs,
      nowMs,
      nowMs,
    );
    return queue(sql, incident.key, "opened", nowMs, route);
  }
  const worse = severityRank(incident.severity) > severityRank(existing.severity);
  sql.exec(
    `update incidents set fires = fires + 1, last_seen_at = ?, detail = ?,
       severity = ?, summary = ?, last_posted_at = ? where key = ? and status = 'open'`,
    nowMs,
    JSON.stringify(incident.detail),
    worse ? incident.severity : existing.severity,
    worse ? incident.summary : existing.summary,
    worse ? nowMs : existing.last_posted_at,
    incident.key,
  );
  return worse ? queue(sql, incident.key, "worsened", nowMs, route) : null;
}

export function recordResolve(sql: SqlStorage, key: string, nowMs: number, route: Router): boolean {
  if (!openIncident(sql, key)) return false;
  sql.exec(
    "update incidents set status = 'resolved', resolved_at = ? where key = ? and status = 'open'",
    nowMs,
    key,
  );
  queue(sql, key, "resolved", nowMs, route);
  return true;
}

export function recordAcknowledge(sql: SqlStorage, key: string, actor: string, nowMs: number): boolean {
  return (
    sql.exec(
      "update incidents set acknowledged_at = ?, acknowledged_by = ? where key = ? and status = 'open'",
      nowMs,
      actor,
      key,
    ).rowsWritten > 0
  );
}

export function recordMute(sql: SqlStorage, key: string, untilMs: number, actor: string): boolean {
  return (
    sql.exec(
      "update incidents set muted_until = ?, muted_by = ? where key = ? and status = 'open'",
      untilMs,
      actor,
      key,
    ).rowsWritten > 0
  );
}

/** When the next reminder falls due, for the alarm. */
export function nextReminderAt(sql: SqlStorage, reminderIntervalMs: number): number | null {
  const row = sql
    .exec<{ at: number | null }>(
      `select min(max(last_posted_at + ?, coalesce(muted_until, 0))) as at from incidents
        where status = 'open' and acknowledged_at is null`,
      reminderIntervalMs,
    )
    .one();
  return row.at ?? null;
}

/** Queues a reminder for every open incident that is due one; returns how many. */
export function queueReminders(
  sql: SqlStorage,
  nowMs: number,
  reminderIntervalMs: number,
  route: Router,
): number {
  const due = sql
    .exec<IncidentRow>(
      `select * from incidents where status = 'open' and acknowledged_at is null
          and last_posted_at + ? <= ? and coalesce(muted_until, 0) <= ?`,
      reminderIntervalMs,
      nowMs,
      nowMs,
    )
    .toArray();
  for (const row of due) queue(sql, row.key, "reminder", nowMs, route);
  return due.length;
}

function queue(sql: SqlStorage, key: string, event: NoticeEvent, nowMs: number, route: Router): NoticeEvent {
  const row =
    openIncident(sql, key) ?? sql.exec<IncidentRow>("select * from incidents where key = ?", key).one();
  const told: ChannelName[] | null = row.channels ? (JSON.parse(row.channels) as ChannelName[]) : null;
  const targets =
    event === "resolved" ? (told ?? route(row.kind, row.severity)) : route(row.kind, row.severity);
  if (event !== "resolved") {
    const all = [...new Set([...(told ?? []), ...targets])];
    sql.exec(
      "update incidents set last_posted_at = ?, channels = ? where key = ?",
      nowMs,
      JSON.stringify(all),
      key,
    );
  }
  addNotice(sql, noticeFrom(row, event, nowMs), severityRank(row.severity), targets);
  return event;
}
