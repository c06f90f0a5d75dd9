/**
 * What a person may do about an incident from a chat message: acknowledge it, mute it for an hour and,
 * where its kind suggests one and the catalogue marks it safe from chat, its next step (sync the order).
 * Nothing that moves money or credits is ever offered: an action must be in SAFE_FROM_CHAT and be one
 * this module knows how to run. The interactions route asks the same question before it acts, so a
 * crafted click cannot do more than the message offered. Pure.
 */
import { incidentKind, SAFE_FROM_CHAT, type SuggestedAction } from "../incidents/catalogue.ts";
import type { NoticeEvent } from "./notice.ts";
import type { AlertLanguage } from "./settings.ts";

export type ChatAction = "acknowledge" | "mute_1h" | "sync_order";

export const CHAT_MUTE_MINUTES = 60;

/** Which catalogue action each chat action is, so SAFE_FROM_CHAT decides. */
const CATALOGUE_ACTION: Record<ChatAction, SuggestedAction> = {
  acknowledge: "acknowledge",
  mute_1h: "mute",
  sync_order: "sync_order",
};

export const CHAT_WORDS = {
  en: {
    acknowledge: "Acknowledge",
    mute_1h: "Mute 1 h",
    sync_order: "Sync order",
    open: "Open incident",
    done: {
      acknowledge: (who: string) => `✅ Acknowledged by ${who}`,
      mute_1h: (who: string) => `🔕 Muted for 1 h by ${who}`,
      sync_order: (who: string, outcome: string) => `🔄 Order synced by ${who}: ${outcome}`,
    },
    failed: (what: string, why: string) => `Could not ${what}: ${why}`,
    unknownUser: "You are not configured as a payguard operator (SLACK_OPERATORS), so nothing was done.",
    unknownIncident: "This incident is no longer known to payguard; open the console instead.",
    notOffered: "That action is not available for this incident from Slack.",
    unavailable: "payguard cannot reach its alert desk right now; try again in a minute",
  },
  zh: {
    acknowledge: "确认处理",
    mute_1h: "静音 1 小时",
    sync_order: "同步订单",
    open: "打开告警",
    done: {
      acknowledge: (who: string) => `✅ ${who} 已确认处理`,
      mute_1h: (who: string) => `🔕 ${who} 已静音 1 小时`,
      sync_order: (who: string, outcome: string) => `🔄 ${who} 已同步订单：${outcome}`,
    },
    failed: (what: string, why: string) => `未能${what}：${why}`,
    unknownUser: "你不在 payguard 的值班人员配置（SLACK_OPERATORS）中，未执行任何操作。",
    unknownIncident: "payguard 已找不到这个告警，请在控制台中查看。",
    notOffered: "这个告警不能在 Slack 中执行该操作。",
    unavailable: "payguard 暂时无法访问告警服务，请稍后再试",
  },
} as const satisfies Record<AlertLanguage, unknown>;

export const isChatAction = (value: unknown): value is ChatAction =>
  typeof value === "string" && value in CATALOGUE_ACTION;

/** Where an incident's detail names its order (audit findings call it `subject`). */
const ORDER_FIELDS = ["order_id", "orderId", "first_order_id", "subject"] as const;
const ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

/** The order a sync would query, when the incident names one. */
export function orderOf(detail: Record<string, unknown>): string | null {
  for (const field of ORDER_FIELDS) {
    const value = detail[field];
    if (typeof value === "string" && ORDER_ID_PATTERN.test(value)) return value;
  }
  return null;
}

/**
 * The actions offered for one incident: none once it is resolved; otherwise acknowledge and mute, and the
 * kind's own safe suggestion when it can run here (a sync needs the order).
 */
export function chatActions(
  incident: { kind: string; detail: Record<string, unknown>; event: NoticeEvent },
  kindActions: readonly SuggestedAction[] = incidentKind(incident.kind).actions,
): ChatAction[] {
  if (incident.event === "resolved") return [];
  const offered: ChatAction[] = ["acknowledge", "mute_1h"];
  if (kindActions.includes("sync_order") && orderOf(incident.detail) !== null) offered.push("sync_order");
  return offered.filter((action) => SAFE_FROM_CHAT.has(CATALOGUE_ACTION[action]));
}
