/**
 * The orders list's date filters are days in the operator's time zone, not UTC: "from 6 Dec" means from
 * midnight of 6 Dec where the operator is, "to 6 Dec" includes that day. A full timestamp (with its offset)
 * passes through unchanged. Pure.
 */

const DAY_MS = 86_400_000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** How far `timeZone` is ahead of UTC at the instant `ms`, in milliseconds. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The instant midnight starts `date` (YYYY-MM-DD) in `timeZone`; the offset is read twice for DST days. */
export function zonedMidnightMs(date: string, timeZone: string): number | null {
  const match = DATE_ONLY.exec(date);
  if (!match) return null;
  const utcMidnight = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const guess = utcMidnight - zoneOffsetMs(utcMidnight, timeZone);
  return utcMidnight - zoneOffsetMs(guess, timeZone);
}

/** `from` / `to` as the search takes them: day bounds in the zone (`to` inclusive), else as given. */
export function zonedRange(
  range: { from?: string; to?: string },
  timeZone: string,
): { from?: string; to?: string } {
  const bound = (value: string | undefined, endOfDay: boolean) => {
    if (!value) return undefined;
    const ms = zonedMidnightMs(value, timeZone);
    if (ms === null) return value;
    return new Date(endOfDay ? (zonedMidnightMs(nextDay(value), timeZone) ?? ms + DAY_MS) : ms).toISOString();
  };
  return { from: bound(range.from, false), to: bound(range.to, true) };
}

function nextDay(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}
