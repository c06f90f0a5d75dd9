/**
 * Weekly report, the pure part: which week is due (Monday from 09:00 in REPORT_TIME_ZONE, for the week that
 * ended at local Monday 00:00) and the message text in English and Chinese. Sending: send-weekly-report.ts.
 */
import { formatMoney } from "../alerts/message.ts";
import type { AlertLanguage } from "../alerts/settings.ts";
import type { ReportFigures } from "./store.ts";

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
export const REPORT_WEEKDAY = "Mon";
export const REPORT_HOUR = 9;

export interface ReportWeek {
  /** The Monday (local date) the reported week began. */
  weekStart: string;
  fromMs: number;
  toMs: number;
}

/** A report's text in both languages; each channel takes the one it speaks. */
export interface ReportMessage {
  title: Record<AlertLanguage, string>;
  lines: Record<AlertLanguage, string[]>;
}

function localParts(ms: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    weekday: "short",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? "";
  const number = (type: Intl.DateTimeFormatPartTypes) => Number(get(type));
  return {
    weekday: get("weekday"),
    date: Date.UTC(number("year"), number("month") - 1, number("day")),
    hour: number("hour"),
    msIntoDay: ((number("hour") * 60 + number("minute")) * 60 + number("second")) * 1000 + (ms % 1000),
  };
}

const isoDate = (utcMidnightMs: number) => new Date(utcMidnightMs).toISOString().slice(0, 10);

/** The full week that ended at the last local Monday 00:00 at or before `nowMs`. */
export function lastFullWeek(nowMs: number, timeZone: string): ReportWeek {
  const local = localParts(nowMs, timeZone);
  const daysSinceMonday = (new Date(local.date).getUTCDay() + 6) % 7;
  const toMs = nowMs - local.msIntoDay - daysSinceMonday * DAY_MS;
  return {
    weekStart: isoDate(local.date - (daysSinceMonday + 7) * DAY_MS),
    fromMs: toMs - WEEK_MS,
    toMs,
  };
}

/** Monday, 09:00 local or later that day: the report of the week that just ended is due. */
export function reportDue(nowMs: number, timeZone: string): ReportWeek | null {
  const local = localParts(nowMs, timeZone);
  return local.weekday === REPORT_WEEKDAY && local.hour >= REPORT_HOUR ? lastFullWeek(nowMs, timeZone) : null;
}

type Row = Record<string, unknown>;
const rows = (value: unknown): Row[] => (Array.isArray(value) ? (value as Row[]) : []);
const obj = (value: unknown): Row => (value && typeof value === "object" ? (value as Row) : {});
const num = (value: unknown): number => (typeof value === "number" ? value : Number(value ?? 0));
const seconds = (ms: unknown) => `${(num(ms) / 1000).toFixed(1)} s`;

const WORDS = {
  en: {
    title: (week: ReportWeek, zone: string) => `payguard weekly report: week of ${week.weekStart} (${zone})`,
    created: (n: number) => `Orders created: ${n}`,
    paid: "Payments",
    none: "none",
    credits: (c: Row) =>
      `Credits: granted ${num(c.granted)}, clawed back ${num(c.clawed_back)}, adjusted ${num(c.adjusted)}`,
    latency: "Paid → credited",
    repaired: "Repaired",
    incidents: (i: Row) => `Incidents: opened ${num(i.opened)}, resolved ${num(i.resolved)}`,
    open: (n: number) => `Still open: ${n}`,
    page: "Full report",
  },
  zh: {
    title: (week: ReportWeek, zone: string) => `payguard 周报：${week.weekStart} 起一周（${zone}）`,
    created: (n: number) => `新建订单：${n}`,
    paid: "支付",
    none: "无",
    credits: (c: Row) => `积分：发放 ${num(c.granted)}，扣回 ${num(c.clawed_back)}，调整 ${num(c.adjusted)}`,
    latency: "支付 → 到账",
    repaired: "修复",
    incidents: (i: Row) => `事件：新开 ${num(i.opened)}，已恢复 ${num(i.resolved)}`,
    open: (n: number) => `仍未处理：${n}`,
    page: "完整周报",
  },
} as const;

/** Pure: the report's lines in one language. */
export function reportLines(
  figures: ReportFigures,
  week: ReportWeek,
  language: AlertLanguage,
  publicBaseUrl: string,
): string[] {
  const words = WORDS[language];
  const payments = rows(figures.payments).map(
    (p) => `${num(p.count)} × ${formatMoney(num(p.amount_minor), String(p.currency))}`,
  );
  const latency = rows(figures.latency).map(
    (l) => `${String(l.path)} p50 ${seconds(l.p50_ms)} / p95 ${seconds(l.p95_ms)} (${num(l.count)})`,
  );
  const repaired = rows(figures.repaired).map((r) => `${String(r.kind)}/${String(r.path)} ${num(r.count)}`);
  const stillOpen = obj(figures.still_open);
  const list = (items: string[]) => (items.length > 0 ? items.join(" · ") : words.none);
  return [
    `• ${words.created(num(figures.orders_created))}`,
    `• ${words.paid}: ${list(payments)}`,
    `• ${words.credits(obj(figures.credits))}`,
    `• ${words.latency}: ${list(latency)}`,
    `• ${words.repaired}: ${list(repaired)}`,
    `• ${words.incidents(obj(figures.incidents))}`,
    `• ${words.open(num(stillOpen.count))}`,
    ...rows(stillOpen.newest).map(
      (i) => `  - [${String(i.severity)}] ${String(i.summary)} (${String(i.key)})`,
    ),
    `${words.page}: ${publicBaseUrl}/admin/report?week=${week.weekStart}`,
  ];
}

export function reportMessage(
  figures: ReportFigures,
  week: ReportWeek,
  timeZone: string,
  publicBaseUrl: string,
): ReportMessage {
  return {
    title: { en: WORDS.en.title(week, timeZone), zh: WORDS.zh.title(week, timeZone) },
    lines: {
      en: reportLines(figures, week, "en", publicBaseUrl),
      zh: reportLines(figures, week, "zh", publicBaseUrl),
    },
  };
}

/** The reported week that began on local Monday `weekStart` (YYYY-MM-DD); null when that is not a Monday. */
export function weekStarting(weekStart: string, timeZone: string): ReportWeek | null {
  const start = Date.parse(`${weekStart}T12:00:00Z`);
  if (!Number.isFinite(start)) return null;
  const week = lastFullWeek(start + WEEK_MS, timeZone);
  return week.weekStart === weekStart ? week : null;
}
