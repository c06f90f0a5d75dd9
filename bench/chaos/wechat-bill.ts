/**
 * WeChat's daily bill, the next morning, within a run of minutes: a lost refund notification is
 * recovered only by the bill of the day the refund happened (src/reconcile/wechat-bill.ts), which WeChat
 * publishes at 10:00 Beijing the next day and the `wechat_bill` cron checks at 02:30 UTC. So for each
 * Beijing day the run touched, the sandbox publishes that day's bill now (moving its clock instead would
 * put the worker's signed requests out of their five minutes), and the worker's own cron is fired with
 * its scheduled time at 02:30 UTC the next day, so it checks exactly that day. Miniflare's
 * `/cdn-cgi/local/scheduled` takes a scheduled time; wrangler's `/__scheduled` does not.
 */
import { beijingDate, beijingMidnightMs, DAY_MS } from "../../dev/sandbox/wechat/format.ts";
import type { BenchStack } from "../lib/stack.ts";
import type { SandboxLogs } from "./trace.ts";

const BILL_CRON = "30 2 * * *";
/** 02:30 UTC the next day (10:30 Beijing), after the bill is published at 10:00. */
const BILL_CHECK_AFTER_DAY_START_MS = DAY_MS + 10.5 * 3600_000;
const REFUND_EVENT_TYPE = "REFUND.SUCCESS";

export interface BillRun {
  billDate: string;
  /** The scheduled handler's answer (`ok` unless the job threw past runJob). */
  answer: string;
  /** The job run payguard recorded: its status and detail (rows, findings, refunds settled, incidents). */
  status: string | null;
  detail: Record<string, unknown> | null;
}

/** Beijing days from `fromMs` to now, oldest first. */
function beijingDays(fromMs: number, toMs: number): string[] {
  const days: string[] = [];
  for (let at = beijingMidnightMs(beijingDate(fromMs)); at <= toMs; at += DAY_MS) days.push(beijingDate(at));
  return days;
}

/** Checks the bill of every Beijing day since `sinceMs` as that day's next-morning cron would. */
export async function runWechatBills(stack: BenchStack, sinceMs: number): Promise<BillRun[]> {
  const runs: BillRun[] = [];
  for (const billDate of beijingDays(sinceMs, Date.now())) {
    await stack.control("wechat/bill/publish", { billDate });
    const time = beijingMidnightMs(billDate) + BILL_CHECK_AFTER_DAY_START_MS;
    const url = `${stack.workerUrl}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(BILL_CRON)}&time=${time}`;
    const response = await fetch(url).catch((error: Error) => error);
    const answer =
      response instanceof Error ? response.message : `${response.status} ${await response.text()}`;
    const [run] = await stack.standIn.query<{ status: string; detail: Record<string, unknown> }>(
      "select status, detail from payguard.job_runs where job = 'wechat_bill' order by id desc limit 1",
    );
    runs.push({ billDate, answer, status: run?.status ?? null, detail: run?.detail ?? null });
  }
  return runs;
}

/** The WeChat refund notifications the fault mix dropped or duplicated, and those never answered 2xx. */
export function wechatRefundNotificationFaults(logs: SandboxLogs): Record<string, number> {
  const events = new Map<string, { dropped: boolean; duplicated: boolean; acknowledged: boolean }>();
  for (const d of logs.deliveries) {
    if (d.provider !== "wechatpay" || d.eventType !== REFUND_EVENT_TYPE) continue;
    const event = events.get(d.eventId) ?? { dropped: false, duplicated: false, acknowledged: false };
    event.dropped ||= d.fault === "drop";
    event.duplicated ||= d.fault === "duplicate";
    event.acknowledged ||= typeof d.status === "number" && d.status >= 200 && d.status < 300;
    events.set(d.eventId, event);
  }
  const count = (pick: (e: { dropped: boolean; duplicated: boolean; acknowledged: boolean }) => boolean) =>
    [...events.values()].filter(pick).length;
  return {
    notifications: events.size,
    dropped: count((e) => e.dropped),
    duplicated: count((e) => e.duplicated),
    neverAcknowledged: count((e) => !e.acknowledged),
  };
}
