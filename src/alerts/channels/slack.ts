/** Slack incoming webhook: Block Kit sections plus a `text` fallback for notifications. */
import type { Composed } from "../compose.ts";
import type { Markup } from "../message.ts";
import { postJson, type Sender } from "./types.ts";

export const SLACK_MARKUP: Markup = {
  bold: (text) => `*${text}*`,
  link: (url, label) => `<${url}|${label}>`,
};

/** Slack refuses a section whose text is longer than 3000 characters. */
const SLACK_SECTION_CHARS_MAX = 3_000;
const SLACK_RETRY_AFTER_DEFAULT_S = 30;

function sections(lines: readonly string[]): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const line of lines) {
    const piece = line.slice(0, SLACK_SECTION_CHARS_MAX);
    if (current && current.length + 1 + piece.length > SLACK_SECTION_CHARS_MAX) {
      chunks.push(current);
      current = "";
    }
    current = current ? `${current}\n${piece}` : piece;
  }
  if (current) chunks.push(current);
  return chunks;
}

export const slackSender: Sender = {
  payload(composed: Composed) {
    return {
      text: composed.title,
      blocks: sections(composed.lines).map((text) => ({ type: "section", text: { type: "mrkdwn", text } })),
    };
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
