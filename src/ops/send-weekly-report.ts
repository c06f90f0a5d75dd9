/**
 * Weekly report, the sending part: the hourly job asks each time; when the report is due, its figures are
 * read, the week is claimed (`claim_weekly_report`, so the post happens once however often the job runs) and
 * the message goes to every alert channel through the AlertDesk. It is a message, not an incident. A post the
 * desk refused is released for the next hour.
 */
import { deskStub } from "../alerts/desk-sink.ts";
import type { Deps } from "../deps.ts";
import { reportDue, reportMessage } from "./weekly-report.ts";

export type ReportOutcome =
  | { sent: false; reason: "not_due" | "already_sent" }
  | { sent: true; weekStart: string };

/** Posts the week's report when it is due and nobody posted it yet. */
export async function sendWeeklyReport(env: Env, deps: Deps, nowMs: number): Promise<ReportOutcome> {
  const timeZone = deps.config.ops.reportTimeZone;
  const week = reportDue(nowMs, timeZone);
  if (!week) return { sent: false, reason: "not_due" };
  const figures = await deps.ops.weeklyReport(week.fromMs, week.toMs);
  if (!figures.ok) throw new Error(`weekly report: ${figures.error.message}`);
  const claimed = await deps.ops.claimWeeklyReport(week.weekStart, timeZone, figures.value, nowMs);
  if (!claimed.ok) throw new Error(`weekly report claim: ${claimed.error.message}`);
  if (!claimed.value) return { sent: false, reason: "already_sent" };
  try {
    await deskStub(env.ALERT_DESK).post(
      reportMessage(figures.value, week, timeZone, deps.config.publicBaseUrl),
      nowMs,
    );
  } catch (error) {
    const released = await deps.ops.releaseWeeklyReport(week.weekStart);
    throw new Error(
      `weekly report not posted${released.ok ? "" : " (and not released)"}: ${(error as Error).message}`,
    );
  }
  return { sent: true, weekStart: week.weekStart };
}
