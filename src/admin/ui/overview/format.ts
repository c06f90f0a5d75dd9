/**
 * Numbers on the overview as a person reads them at 3 a.m.: durations in human units ("2.1 s",
 * "2 min 3 s", "1 h 4 min") in both languages, rates as percentages, and the round top of a chart's
 * y axis. Pure: values in, text out.
 */
import type { Lang } from "../i18n.ts";

type UnitWords = { ms: string; s: string; min: string; h: string; d: string };

const UNITS: Record<Lang, UnitWords> = {
  en: { ms: "ms", s: "s", min: "min", h: "h", d: "d" },
  zh: { ms: "毫秒", s: "秒", min: "分", h: "小时", d: "天" },
};

const SECOND_MS = 1000;
const MINUTE_S = 60;
const HOUR_MIN = 60;
const DAY_MIN = 24 * 60;
/** Below this many seconds a tenth of a second still matters ("2.1 s"). */
const TENTHS_BELOW_S = 10;

const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
  small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;

/** 850 → "850 ms", 2_100 → "2.1 s", 123_000 → "2 min 3 s", 3_840_000 → "1 h 4 min", 2 days → "2 d". */
export function formatDuration(ms: number, lang: Lang): string {
  const u = UNITS[lang];
  const safe = Number.isFinite(ms) ? Math.max(0, ms) : 0;
  if (Math.round(safe) < SECOND_MS) return `${Math.round(safe)} ${u.ms}`;
  const seconds = safe / SECOND_MS;
  if (Math.round(seconds * 10) < TENTHS_BELOW_S * 10)
    return `${(Math.round(seconds * 10) / 10).toFixed(1)} ${u.s}`;
  const wholeS = Math.round(seconds);
  if (wholeS < MINUTE_S) return `${wholeS} ${u.s}`;
  if (wholeS < MINUTE_S * HOUR_MIN) return pair(Math.floor(wholeS / MINUTE_S), u.min, wholeS % MINUTE_S, u.s);
  const minutes = Math.round(seconds / MINUTE_S);
  if (minutes < DAY_MIN) return pair(Math.floor(minutes / HOUR_MIN), u.h, minutes % HOUR_MIN, u.min);
  const hours = Math.round(minutes / HOUR_MIN);
  return pair(Math.floor(hours / 24), u.d, hours % 24, u.h);
}

/** 0.9768 → "97.7%"; null (no deliveries) → "–". */
export const formatRate = (rate: number | null): string =>
  rate === null ? "–" : `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;

/** Steps of a y axis whose half is a whole number too: 2, 4, 6, 10, 20, 40, 60, 100, … */
const NICE_STEPS = [2, 4, 6, 10];

/** The smallest round top for an axis holding `max` (at least 2, so the middle tick is a whole 1). */
export function niceCeiling(max: number): number {
  const target = Math.max(max, NICE_STEPS[0] ?? 2);
  const scale = 10 ** Math.floor(Math.log10(target));
  for (const size of [scale / 10, scale])
    for (const step of NICE_STEPS) if (step * size >= target) return step * size;
  return 10 * scale;
}
