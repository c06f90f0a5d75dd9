// WeChat Pay's wire formats for time, money and identifiers: RFC 3339 in Beijing time (+08:00) in API
// objects, "yyyy-MM-dd HH:mm:ss" Beijing time in bills, integer fen in JSON, yuan with two decimals in
// bills. Identifiers are drawn from the seeded stream so one seed replays the same ids.
import { type Random, randomId } from "../rng.ts";

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

function beijingParts(epochMs: number): { date: string; time: string } {
  const shifted = new Date(epochMs + BEIJING_OFFSET_MS);
  const date = `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`;
  const time = `${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}`;
  return { date, time };
}

/** YYYY-MM-DD of the Beijing calendar day `epochMs` falls on: WeChat's bill day. */
export const beijingDate = (epochMs: number): string => beijingParts(epochMs).date;

export function beijingRfc3339(epochMs: number): string {
  const { date, time } = beijingParts(epochMs);
  return `${date}T${time}+08:00`;
}

export function beijingDateTime(epochMs: number): string {
  const { date, time } = beijingParts(epochMs);
  return `${date} ${time}`;
}

/** Epoch ms of 00:00 Beijing time on a YYYY-MM-DD date; NaN when it is not a real date. */
export function beijingMidnightMs(date: string): number {
  const ms = Date.parse(`${date}T00:00:00+08:00`);
  return Number.isNaN(ms) || beijingDate(ms) !== date ? Number.NaN : ms;
}

export const unixSeconds = (epochMs: number): string => String(Math.floor(epochMs / 1000));

/** Integer fen to yuan with two decimals, exact (no floating point). */
export function yuan(fen: number): string {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${pad(abs % 100)}`;
}

export function randomDigits(random: Random, length: number): string {
  let digits = "";
  for (let i = 0; i < length; i += 1) digits += Math.floor(random() * 10);
  return digits;
}

/** 32 alphanumerics, like WeChat's `Wechatpay-Nonce`. */
export const headerNonce = (random: Random): string => randomId(random, "", 32);

/** 12 characters: the AES-GCM nonce of a notification resource. */
export const resourceNonce = (random: Random): string => randomId(random, "", 12);

/** Notification ids are UUID-shaped (e.g. `a3ced377-7b74-5a7f-9cb7-e2c9cb1fbeaa`). */
export function eventId(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** 28 digits with the Beijing date inside, like `4200001234202405201234567890`. */
export const transactionId = (random: Random, nowMs: number): string =>
  `42000${randomDigits(random, 5)}${beijingDate(nowMs).replaceAll("-", "")}${randomDigits(random, 10)}`;

/** 29 digits with the Beijing date inside, like WeChat's refund ids. */
export const refundId = (random: Random, nowMs: number): string =>
  `503${randomDigits(random, 5)}${beijingDate(nowMs).replaceAll("-", "")}${randomDigits(random, 13)}`;

/** 28 characters starting with `o`, like an openid. */
export const openid = (random: Random): string => randomId(random, "o", 27);
