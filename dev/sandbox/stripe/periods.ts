// Billing arithmetic, pure (no state, no clock): where a subscription's periods begin and end, what a
// proration costs, and the descriptions Stripe writes on invoice lines.
//
// Periods count from the billing cycle anchor: n days or weeks later, or the anchor's day of the month n
// months later, clamped to the month's last day (an anchor on 31 January renews on 28 or 29 February,
// then on 31 March), at the anchor's time of day, in UTC.
//
// Prorations: Stripe prorates "down to the second based on the starting timestamp of the billing period
// and the timestamp of the proration's triggering event" (docs.stripe.com/billing/scripts/prorations):
// a line is amount × seconds left / seconds in the period, rounded to the nearest minor unit (as Stripe
// says it rounds its fees); Stripe documents no tie-break for prorations, halves go away from zero here.
import type { Recurring, RecurringInterval } from "./billing-types.ts";

const DAY_S = 24 * 60 * 60;
const WEEK_S = 7 * DAY_S;
/** The longest month and year: an estimate of n made with them never overshoots. */
const MONTH_S_MAX = 31 * DAY_S;
const YEAR_S_MAX = 366 * DAY_S;
/** Walking from that estimate to the next boundary takes a few steps; more means a bug. */
const BOUNDARY_STEPS_MAX = 1_000;

/** The anchor moved n whole periods on. */
export function periodBoundary(anchorS: number, recurring: Recurring, n: number): number {
  const count = recurring.interval_count * n;
  if (recurring.interval === "day") return anchorS + count * DAY_S;
  if (recurring.interval === "week") return anchorS + count * WEEK_S;
  const months = recurring.interval === "year" ? 12 * count : count;
  const anchor = new Date(anchorS * 1000);
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(anchor.getUTCDate(), lastDay);
  const time = [anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds()] as const;
  return Date.UTC(year, month, day, ...time) / 1000;
}

const approxPeriodS = (interval: RecurringInterval): number =>
  ({ day: DAY_S, week: WEEK_S, month: MONTH_S_MAX, year: YEAR_S_MAX })[interval];

/** The first period boundary after `afterS`. */
export function nextBoundary(anchorS: number, recurring: Recurring, afterS: number): number {
  const periodS = approxPeriodS(recurring.interval) * recurring.interval_count;
  let n = Math.max(1, Math.floor((afterS - anchorS) / periodS));
  for (let step = 0; step < BOUNDARY_STEPS_MAX; step += 1) {
    const boundary = periodBoundary(anchorS, recurring, n);
    if (boundary > afterS) return boundary;
    n += 1;
  }
  throw new Error(`no period boundary found after ${afterS} from anchor ${anchorS}`);
}

/** What `remainingS` of a `periodS`-second period costs at `fullMinor` for the whole period. */
export function prorate(fullMinor: number, remainingS: number, periodS: number): number {
  const numerator = BigInt(Math.abs(fullMinor)) * BigInt(remainingS);
  const denominator = BigInt(periodS);
  const rounded = (2n * numerator + denominator) / (2n * denominator);
  return Math.sign(fullMinor) * Number(rounded);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Stripe's invoice dates: "11 Mar 2026". */
export function invoiceDate(atS: number): string {
  const date = new Date(atS * 1000);
  const day = String(date.getUTCDate()).padStart(2, "0");
  return `${day} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

export function formatMoney(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

/** "1 × Pro (at $10.00 / month)", "2 × Pro (at $30.00 every 3 months)". */
export function cycleLineDescription(
  quantity: number,
  productName: string,
  unitAmount: number,
  currency: string,
  recurring: Recurring,
): string {
  const { interval, interval_count: count } = recurring;
  const per = count === 1 ? `/ ${interval}` : `every ${count} ${interval}s`;
  return `${quantity} × ${productName} (at ${formatMoney(unitAmount, currency)} ${per})`;
}

/** "Unused time on Pro after 11 Mar 2026", "Remaining time on 2 × Team after 11 Mar 2026". */
export function prorationDescription(
  kind: "Unused" | "Remaining",
  quantity: number,
  productName: string,
  atS: number,
): string {
  const what = quantity === 1 ? productName : `${quantity} × ${productName}`;
  return `${kind} time on ${what} after ${invoiceDate(atS)}`;
}
