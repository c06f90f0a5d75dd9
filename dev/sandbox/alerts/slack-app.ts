// The Slack app side of the sandbox: what Slack does when someone clicks a button on a message the
// sandbox's Slack webhook received. It builds the `block_actions` interaction payload Slack sends (the
// user, the original message, the clicked element, a `response_url`), signs it as Slack does
// (`X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:{ts}:{body}"))`, `X-Slack-Request-Timestamp`),
// and either POSTs it to the app's interactivity URL or hands it back for the caller to deliver.
// `response_url` answers like Slack: a message there can replace the original (`replace_original`) or be
// an ephemeral reply; each URL takes 5 messages within 30 minutes.
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { AlertTokens, ReceivedAlert } from "./types.ts";
import { isObject } from "./types.ts";

export const SLACK_RESPONSE_PATH_PREFIX = "/alerts/slack/respond/";
export const SLACK_RESPONSE_URL_USES_MAX = 5;
export const SLACK_RESPONSE_URL_TTL_MS = 30 * 60_000;
/** The sandbox workspace's default user: `SLACK_OPERATORS` maps it in the local stack and the tests. */
export const SANDBOX_SLACK_USER = { id: "U0SANDBOX01", name: "oncall" } as const;

type Block = Record<string, unknown>;

/** The Slack app's signing secret, derived from the default robot's token (so it survives restarts). */
export const slackSigningSecret = (tokens: AlertTokens): string =>
  createHash("sha256").update(`slack-signing-secret:${tokens.slackToken}`).digest("hex").slice(0, 32);

export function slackRequestSignature(secret: string, timestampS: number, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestampS}:${body}`, "utf8").digest("hex")}`;
}

export interface ClickRequest {
  action: string;
  blockId?: string;
  /** Matches a block whose id ends with `:<key>` (payguard's incident blocks). */
  key?: string;
  userId?: string;
  userName?: string;
}

export interface Clicked {
  element: Record<string, unknown>;
  blockId: string;
}

const blockMatches = (block: Block, request: ClickRequest): boolean => {
  const id = typeof block.block_id === "string" ? block.block_id : "";
  if (request.blockId !== undefined) return id === request.blockId;
  if (request.key !== undefined) return id.endsWith(`:${request.key}`);
  return true;
};

/** The element a person would click for `request.action` (a button's value, an overflow option's value). */
export function findClick(blocks: readonly Block[], request: ClickRequest, nowMs: number): Clicked | null {
  const actionTs = (nowMs / 1000).toFixed(6);
  for (const block of blocks) {
    if (!blockMatches(block, request)) continue;
    const blockId = String(block.block_id ?? "");
    const elements = Array.isArray(block.elements) ? block.elements.filter(isObject) : [];
    for (const element of elements) {
      if (
        element.type === "button" &&
        (element.value === request.action || (request.action === "open" && element.url))
      )
        return { blockId, element: { ...element, block_id: blockId, action_ts: actionTs } };
    }
    const accessory = isObject(block.accessory) ? block.accessory : null;
    const options = accessory && Array.isArray(accessory.options) ? accessory.options.filter(isObject) : [];
    const option = options.find((candidate) => candidate.value === request.action);
    if (accessory && option)
      return {
        blockId,
        element: {
          type: "overflow",
          action_id: accessory.action_id,
          block_id: blockId,
          selected_option: option,
          action_ts: actionTs,
        },
      };
  }
  return null;
}

export function interactionPayload(
  message: { text: string; blocks: Block[]; ts: string },
  clicked: Clicked,
  user: { id: string; name: string },
  responseUrl: string,
): Record<string, unknown> {
  return {
    type: "block_actions",
    user: { id: user.id, username: user.name, name: user.name, team_id: "T0SANDBOX" },
    api_app_id: "A0SANDBOX",
    token: "sandbox-verification-token",
    container: { type: "message", message_ts: message.ts, channel_id: "C0SANDBOX", is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(6).toString("hex")}`,
    team: { id: "T0SANDBOX", domain: "payguard-sandbox" },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: "C0SANDBOX", name: "alerts" },
    message: {
      type: "message",
      subtype: "bot_message",
      text: message.text,
      ts: message.ts,
      blocks: message.blocks,
    },
    state: { values: {} },
    response_url: responseUrl,
    actions: [clicked.element],
  };
}

/** A signed interaction request: the form body Slack posts and its headers. */
export function signedInteraction(payload: unknown, secret: string, timestampS: number) {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return {
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(timestampS),
      "x-slack-signature": slackRequestSignature(secret, timestampS, body),
    },
    body,
  };
}

export interface ResponseTarget {
  /** The Slack message (a received alert) this response URL belongs to. */
  alert: ReceivedAlert;
  createdAtMs: number;
  uses: number;
}

/** Slack's checks on a response_url message; null when it is accepted. */
export function responseRefusal(
  target: ResponseTarget | undefined,
  body: unknown,
  nowMs: number,
): string | null {
  if (!target || nowMs - target.createdAtMs > SLACK_RESPONSE_URL_TTL_MS) return "expired_url";
  if (target.uses >= SLACK_RESPONSE_URL_USES_MAX) return "used_url";
  if (!isObject(body) || (typeof body.text !== "string" && !Array.isArray(body.blocks))) return "no_text";
  return null;
}
