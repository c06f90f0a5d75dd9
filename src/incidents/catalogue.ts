/**
 * What each incident kind means to a person, in English and Chinese: a title built from the incident's
 * detail (so a summary never mixes languages), a short runbook, and which next actions fit it. The
 * console's incident page and every alert channel read this one catalogue. Pure data and text.
 */

import { AUDIT_AND_BILL_KINDS } from "./kinds-audit.ts";
import { CALLBACK_KINDS } from "./kinds-callbacks.ts";
import { OPS_KINDS } from "./kinds-ops.ts";
import { ORDER_KINDS } from "./kinds-orders.ts";

export type Lang = "en" | "zh";

/** Next actions an incident page can offer. Only `SAFE_FROM_CHAT` ones may be offered outside the console. */
export type SuggestedAction =
  | "sync_order"
  | "repair_dry_run"
  | "replay_events"
  | "resolve_review"
  | "refund_extra_payment"
  | "acknowledge"
  | "mute"
  | "resolve";

/** Actions that move neither money nor credits: the only ones a chat button may trigger. */
export const SAFE_FROM_CHAT: ReadonlySet<SuggestedAction> = new Set(["sync_order", "acknowledge", "mute"]);

export interface IncidentKind {
  /** A one-line title in each language from the incident's detail; `null` → the stored summary is used. */
  title(detail: Record<string, unknown>, lang: Lang): string | null;
  /** Steps, in order, for the person on call. */
  runbook: Record<Lang, string[]>;
  /** Besides acknowledge / mute / resolve, which every incident has. */
  actions: SuggestedAction[];
}

const FALLBACK: IncidentKind = {
  title: () => null,
  runbook: {
    en: [
      "Read the incident's detail and open the linked orders.",
      "Follow the matching section of docs/operations.md.",
    ],
    zh: ["查看告警详情并打开关联订单。", "按 docs/operations.md 中对应章节处理。"],
  },
  actions: [],
};

const KINDS: Record<string, IncidentKind> = {
  ...ORDER_KINDS,
  ...AUDIT_AND_BILL_KINDS,
  ...OPS_KINDS,
  ...CALLBACK_KINDS,
};

/** Every kind with its own entry (the rest get the generic one). */
export const KNOWN_KINDS: readonly string[] = Object.keys(KINDS);

export function incidentKind(kind: string): IncidentKind {
  return KINDS[kind] ?? FALLBACK;
}

/** The incident's title in `lang`, falling back to the stored summary for kinds without a template. */
export function incidentTitle(
  kind: string,
  detail: Record<string, unknown>,
  summary: string,
  lang: Lang,
): string {
  return incidentKind(kind).title(detail, lang) ?? summary;
}
