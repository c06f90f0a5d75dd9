/**
 * Times on the dashboard: absolute in the operator's time zone (a cookie, default REPORT_TIME_ZONE) with
 * its short name, plus how long ago, so nobody converts from UTC at 3 a.m. Pure: the zone, language and
 * "now" come from the page context.
 */
import type { Lang } from "./i18n.ts";

export const TIME_ZONE_COOKIE = "payguard_tz";

export interface TimeSettings {
  lang: Lang;
  timeZone: string;
  nowMs: number;
}

/** A valid IANA zone name in its canonical spelling, or null. */
export function canonicalTimeZone(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: raw }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const toMs = (value: unknown): number | null => {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || !value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
};

/** "2026-12-06 14:03 GMT+8" (zh: "2026-12-06 14:03 GMT+8"); empty for no value. */
export function formatInstant(value: unknown, settings: TimeSettings): string {
  const ms = toMs(value);
  if (ms === null) return "";
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: settings.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")} ${part("timeZoneName")}`;
}

type Unit = [limitS: number, sizeS: number, en: string, zh: string];
const DAYS: Unit = [Number.POSITIVE_INFINITY, 86_400, "d", "天"];
const UNITS: Unit[] = [
  [90, 1, "s", "秒"],
  [90 * 60, 60, "min", "分钟"],
  [36 * 3600, 3600, "h", "小时"],
  DAYS,
];

/** "5 min ago" / "in 3 h" (zh: "5 分钟前" / "3 小时后"). */
export function formatRelative(value: unknown, settings: TimeSettings): string {
  const ms = toMs(value);
  if (ms === null) return "";
  const deltaS = Math.round((settings.nowMs - ms) / 1000);
  const absS = Math.abs(deltaS);
  const [, sizeS, en, zh] = UNITS.find(([limitS]) => absS < limitS) ?? DAYS;
  const amount = Math.round(absS / sizeS);
  if (settings.lang === "zh") return `${amount} ${zh}${deltaS >= 0 ? "前" : "后"}`;
  return deltaS >= 0 ? `${amount} ${en} ago` : `in ${amount} ${en}`;
}

/** A `<time>` element: absolute time, then the relative one in muted text. */
export function When({ at, settings }: { at: unknown; settings: TimeSettings }) {
  const ms = toMs(at);
  if (ms === null) return <span class="muted">—</span>;
  return (
    <time datetime={new Date(ms).toISOString()} class="when">
      {formatInstant(ms, settings)} <span class="muted">· {formatRelative(ms, settings)}</span>
    </time>
  );
}
