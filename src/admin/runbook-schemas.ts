/** Inputs of the runbook actions (repair from references, batch replay, sales switch): API and forms. */
import { z } from "zod";
import { REASON } from "./http.ts";
import { refKind } from "./provider-refs.ts";
import { REPAIR_REFS_MAX } from "./repair-refs.ts";
import { REPLAY_EVENTS_MAX } from "./replay-events.ts";

const blankToUndefined = (value: unknown) => (value === "" ? undefined : value);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const DATE = z.iso.datetime({ offset: true }).or(z.iso.date());
/** JSON sends a boolean; a checkbox sends "on" or nothing. */
const FLAG = z.preprocess(
  (value) => (typeof value === "string" ? ["on", "true", "1", "yes"].includes(value) : value),
  z.boolean().default(false),
);
/** A list in JSON, or one text field with the references separated by spaces, commas or lines. */
const REFS = z.preprocess(
  (value) => (typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : value),
  z
    .array(z.string().refine((ref) => refKind(ref) !== null, "not a Stripe or WeChat Pay reference"))
    .min(1)
    .max(REPAIR_REFS_MAX),
);

export const repairRefsInput = z.object({ reason: REASON, refs: REFS, dryRun: FLAG });

export const replayInput = z.object({
  reason: REASON,
  provider: opt(z.enum(["stripe", "wechatpay"])),
  status: opt(z.enum(["failed", "stuck", "received"])),
  type: opt(
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.]{1,100}$/, "event type"),
  ),
  from: opt(DATE),
  to: opt(DATE),
  limit: z.preprocess(
    blankToUndefined,
    z.coerce.number().int().min(1).max(REPLAY_EVENTS_MAX).default(REPLAY_EVENTS_MAX),
  ),
  dryRun: FLAG,
});

/** `*` pauses every package. */
export const salesSwitchInput = z.object({
  reason: REASON,
  scope: z.string().regex(/^(\*|[A-Za-z0-9_.-]{1,64})$/, "package id or *"),
});
