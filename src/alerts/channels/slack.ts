/**
 * Slack incoming webhook: Block Kit (src/alerts/channels/slack-blocks.ts) plus a `text` fallback for
 * notifications. In mrkdwn, `&`, `<` and `>` are control characters: text that is not ours is escaped
 * as `&amp;`, `&lt;`, `&gt;` (Slack's own rule), so a provider's message can never become a link or a mention.
 */
import type { Composed } from "../compose.ts";
import type { Markup } from "../message.ts";
import { alertBlocks } from "./slack-blocks.ts";
import { postJson, type Sender } from "./types.ts";

const SLACK_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

export const slackEscape = (text: string): string =>
  text.replace(/[&<>]/g, (char) => SLACK_ESCAPES[char] ?? char);

export const SLACK_MARKUP: Markup = {
  bold: (text) => `*${text}*`,
  link: (url, label) => `<${url}|${label}>`,
  escape: slackEscape,
  literal: slackEscape,
};

const SLACK_RETRY_AFTER_DEFAULT_S = 30;

export const slackSender: Sender = {
  markup: SLACK_MARKUP,
  payload(composed: Composed, channel) {
    return { text: slackEscape(composed.title), blocks: alertBlocks(composed, channel.interactive === true) };
  },
  async send(channel, payload) {
    const response = await postJson(channel.url, payload);
    if (!(response instanceof Response)) return response;
    const body = await response.text().catch(() => "");
    if (response.ok) return { kind: "sent" };
    if (response.status === 429) {
      const seconds = Number(response.headers.get("retry-after"));
      const afterS = Number.isFinite(seconds) && seconds > 0 ? seconds : SLACK_RETRY_AFTER_DEFAULT_S;
      return { kind: "retry", reason: "slack 429", afterMs: afterS * 1000 };
    }
    if (response.status >= 500) return { kind: "retry", reason: `slack ${response.status}`, afterMs: null };
    return { kind: "config", reason: `slack ${response.status} ${body.slice(0, 60)}` };
  },
};
