/**
 * What the desk tells people: one notice per thing worth saying about an incident (it opened, got worse,
 * is still open, cleared). Pure data, so the message builders and the desk's SQLite agree on one shape.
 */
import type { IncidentInput } from "../ledger/ports.ts";

export type Severity = IncidentInput["severity"];
export type NoticeEvent = "opened" | "worsened" | "reminder" | "resolved";

export interface Notice {
  key: string;
  kind: string;
  severity: Severity;
  summary: string;
  detail: Record<string, unknown>;
  event: NoticeEvent;
  atMs: number;
  openedAtMs: number;
  /** How many times the incident was raised so far (1 when it opened). */
  fires: number;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export const severityRank = (severity: Severity): number => SEVERITY_RANK[severity];

export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && value in SEVERITY_RANK;
}

/** Most severe first; among equals, oldest first. */
export function bySeverity(a: Notice, b: Notice): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.atMs - b.atMs;
}
