/**
 * Narrows a verified Slack interaction (`application/x-www-form-urlencoded`, `payload=<JSON>`) to what
 * payguard acts on: a `block_actions` click on one of its own buttons, who clicked, where to answer
 * (`response_url`) and the message it came from. Anything else is refused as a value. Pure.
 */

import {
  keyOfBlockId,
  SLACK_ACTION_PREFIX,
  SLACK_MENU_ACTION,
  SLACK_OPEN_ACTION,
} from "./channels/slack-blocks.ts";
import { type ChatAction, isChatAction } from "./chat-actions.ts";

export interface SlackClick {
  userId: string;
  responseUrl: string;
  /** `open` is the link button: Slack reports it too, and there is nothing to do. */
  action: ChatAction | "open";
  key: string | null;
  blockId: string | null;
  message: { text: string; blocks: Array<Record<string, unknown>> } | null;
}

export type ParsedClick = { ok: true; click: SlackClick } | { ok: false; reason: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function actionOf(action: Record<string, unknown>): ChatAction | "open" | null {
  const id = action.action_id;
  if (id === SLACK_OPEN_ACTION) return "open";
  if (id === SLACK_MENU_ACTION) {
    const value = isObject(action.selected_option) ? action.selected_option.value : undefined;
    if (value === "open") return "open";
    return isChatAction(value) ? value : null;
  }
  if (typeof id !== "string" || !id.startsWith(SLACK_ACTION_PREFIX)) return null;
  const name = id.slice(SLACK_ACTION_PREFIX.length);
  return isChatAction(name) && action.value === name ? name : null;
}

function messageOf(payload: Record<string, unknown>): SlackClick["message"] {
  const message = payload.message;
  if (!isObject(message) || !Array.isArray(message.blocks)) return null;
  return {
    text: typeof message.text === "string" ? message.text : "",
    blocks: message.blocks.filter(isObject),
  };
}

export function parseSlackClick(rawBody: string): ParsedClick {
  const form = new URLSearchParams(rawBody).get("payload");
  if (!form) return { ok: false, reason: "no payload field" };
  let payload: unknown;
  try {
    payload = JSON.parse(form);
  } catch {
    return { ok: false, reason: "payload is not JSON" };
  }
  if (!isObject(payload) || payload.type !== "block_actions")
    return { ok: false, reason: "not block_actions" };
  const user = isObject(payload.user) ? payload.user.id : undefined;
  const responseUrl = payload.response_url;
  const [first] = Array.isArray(payload.actions) ? payload.actions : [];
  if (
    typeof user !== "string" ||
    typeof responseUrl !== "string" ||
    !URL.canParse(responseUrl) ||
    !isObject(first)
  )
    return { ok: false, reason: "missing user, response_url or action" };
  const action = actionOf(first);
  if (!action) return { ok: false, reason: "not a payguard action" };
  const blockId = typeof first.block_id === "string" ? first.block_id : null;
  return {
    ok: true,
    click: {
      userId: user,
      responseUrl,
      action,
      key: keyOfBlockId(blockId),
      blockId,
      message: messageOf(payload),
    },
  };
}
