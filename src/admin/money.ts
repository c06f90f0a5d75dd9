/**
 * Amounts as an operator types and reads them: major units with the currency ("49.50 USD", "600 JPY"),
 * converted to and from the integer minor units payguard and the providers count in. The number of
 * decimals follows Stripe's table (zero-decimal JPY, KRW…; three-decimal BHD, KWD…), the same minor
 * units the provider APIs take. Pure: text in, integers out, refusals as values.
 */

/** Stripe's zero-decimal currencies: 1 minor unit = 1 yen, 1 won… */
const ZERO_DECIMAL = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "JPY",
  "KMF",
  "KRW",
  "MGA",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
]);
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

/** Longest amount an operator may type, in characters (digits, point and decimals). */
export const AMOUNT_TEXT_LENGTH_MAX = 20;

const MAJOR_PATTERN = /^(\d+)(?:\.(\d+))?$/;

export function minorDigits(currency: string): number {
  const code = currency.toUpperCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  return THREE_DECIMAL.has(code) ? 3 : 2;
}

/** "1234567" → "1,234,567": the grouping both languages of the console read. */
const grouped = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** 4950 USD → "49.50"; 600 JPY → "600"; 123456 USD → "1,234.56". Without the currency code. */
export function formatMajor(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? "−" : "";
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  const whole = grouped(text.slice(0, text.length - digits));
  return digits === 0 ? `${sign}${whole}` : `${sign}${whole}.${text.slice(text.length - digits)}`;
}

/** 4950 USD → "49.50 USD". */
export const formatAmount = (minor: number, currency: string) =>
  `${formatMajor(minor, currency)} ${currency.toUpperCase()}`;

/** The same amount as a form field value: no grouping, so it parses back ("1234.56"). */
export const majorFieldValue = (minor: number, currency: string) =>
  formatMajor(minor, currency).replaceAll(",", "");

/** Credits with grouping and a real minus sign: 1200 → "1,200", -600 → "−600", +600 with `signed`. */
export function formatCredits(credits: number, signed = false): string {
  const text = grouped(String(Math.abs(Math.trunc(credits))));
  if (credits < 0) return `−${text}`;
  return signed && credits > 0 ? `+${text}` : text;
}

export type AmountProblem = "format" | "precision" | "zero" | "too_large";
export type ParsedAmount = { ok: true; minor: number } | { ok: false; problem: AmountProblem };

/**
 * "49.5" USD → 4950; "600" JPY → 600; "49.50" JPY → precision (yen have no decimals). Only digits and one
 * point: a comma is refused rather than guessed (it is a decimal mark in many places).
 */
export function parseMajor(text: string, currency: string): ParsedAmount {
  const trimmed = text.trim();
  const match = trimmed.length <= AMOUNT_TEXT_LENGTH_MAX ? MAJOR_PATTERN.exec(trimmed) : null;
  if (!match) return { ok: false, problem: "format" };
  const digits = minorDigits(currency);
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > digits) return { ok: false, problem: "precision" };
  const minor = Number(`${match[1]}${fraction.padEnd(digits, "0")}`);
  if (!Number.isSafeInteger(minor)) return { ok: false, problem: "too_large" };
  return minor === 0 ? { ok: false, problem: "zero" } : { ok: true, minor };
}
