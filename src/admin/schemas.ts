/** Input schemas shared by the admin API (JSON) and the dashboard (forms): one definition per input. */
import { z } from "zod";
import { JOBS } from "../ops/jobs.ts";
import type { JobName } from "../reconcile/scheduled.ts";
import { MUTE_MINUTES_MAX, SYNC_ORDERS_MAX } from "./actions.ts";
import { REASON } from "./http.ts";
import { AMOUNT_TEXT_LENGTH_MAX } from "./money.ts";

/** Page size of order searches. */
export const ORDERS_PAGE_MAX = 200;
/** Longest overview window: 90 days. */
export const OVERVIEW_HOURS_MAX = 90 * 24;

export const ORDER_STATUSES = [
  "pending",
  "fulfilled",
  "partially_refunded",
  "refunded",
  "expired",
  "failed",
  "needs_review",
] as const;
const STATUS = z.enum(ORDER_STATUSES);
/** The orders list's provider-check filters (`admin_search_orders`' p_check). */
export const ORDER_CHECK_FILTERS = ["failed"] as const;
const PROVIDER = z.enum(["stripe", "wechatpay"]);
const DATE = z.iso.datetime({ offset: true }).or(z.iso.date());
const blankToUndefined = (value: unknown) => (value === "" ? undefined : value);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());

export const orderSearch = z.object({
  q: opt(z.string().trim().min(1).max(200)),
  user: opt(z.uuid()),
  status: opt(STATUS),
  provider: opt(PROVIDER),
  from: opt(DATE),
  to: opt(DATE),
  /** `failed`: pending orders whose last provider check failed. */
  check: opt(z.enum(ORDER_CHECK_FILTERS)),
  limit: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(ORDERS_PAGE_MAX).default(50)),
  offset: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(0)),
});

/** A user is a Supabase auth user: a UUID. */
export const userParam = z.object({ id: z.uuid() });

export const overviewQuery = z.object({
  hours: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(OVERVIEW_HOURS_MAX).default(24)),
});

export const reasonOnly = z.object({ reason: REASON });
export const syncMany = z.object({
  reason: REASON,
  status: STATUS.default("pending"),
  provider: opt(PROVIDER),
  from: opt(DATE),
  to: opt(DATE),
  limit: z.coerce.number().int().min(1).max(SYNC_ORDERS_MAX).default(SYNC_ORDERS_MAX),
});
export const repairInput = z.object({ reason: REASON, kind: z.enum(["grant", "balance"]) });
export const refundInput = z.object({
  reason: REASON,
  /** Omit for a full refund of what is left. */
  amount_minor: z.preprocess(blankToUndefined, z.coerce.number().int().positive().optional()),
  /** Which payment of the order (a second or mismatched one); omit for the order's own payment. */
  payment_ref: z
    .string()
    .regex(/^[A-Za-z0-9_-]{3,128}$/, "payment reference format")
    .optional(),
});
/**
 * The dashboard's refund form: the amount in major units of the payment's currency as typed (converted to
 * minor units on the server, see money.ts), and optionally which payment of the order (an extra one).
 */
export const refundForm = z.object({
  reason: REASON,
  amount: z.string().trim().min(1).max(AMOUNT_TEXT_LENGTH_MAX),
  payment: opt(z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "payment reference")),
  /** What the confirmation page saw refunded of the payment (minor units): the confirm must see the same. */
  seen: opt(z.coerce.number().int().min(0)),
});
/** No default resolution: the operator picks one. */
export const resolveReviewInput = z.object({ reason: REASON, resolution: z.enum(["fulfil", "reject"]) });
export const incidentInput = z.object({ key: z.string().min(1).max(300), reason: REASON });
export const muteInput = incidentInput.extend({
  minutes: z.coerce.number().int().min(1).max(MUTE_MINUTES_MAX),
});
export const eventParam = z.object({ id: z.string().regex(/^evt_[A-Za-z0-9_]{1,200}$/, "Stripe event id") });
export const jobParam = z.object({ name: z.enum(Object.keys(JOBS) as [JobName, ...JobName[]]) });
export const incidentsQuery = z.object({
  status: z.preprocess(blankToUndefined, z.enum(["open", "resolved", "all"]).default("open")),
});
