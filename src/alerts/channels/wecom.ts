/**
 * WeCom (企业微信) group robot. One incident is a template card (`text_notice`): the severity and event as
 * its title, the incident's title, impact and age as fields, the runbook in its quote area, and the card and
 * its jump link open the incident page. A digest (a storm) or a post is markdown of at most 4096 bytes, cut on
 * a character boundary, every incident with its link. Card fields are plain text (no markup to escape) and
 * are cut to WeCom's suggested maximums.
 */
import { type Composed, cutUtf8 } from "../compose.ts";
import {
  formatDuration,
  impactLine,
  incidentUrl,
  MARKDOWN,
  noticeTitle,
  runbookSteps,
  SEVERITY_ICON,
  WORDS,
} from "../message.ts";
import type { Notice } from "../notice.ts";
import { postJson, readErrcode, type Sender } from "./types.ts";

export const WECOM_MARKDOWN_BYTES_MAX = 4_096;
const WECOM_FREQUENCY_LIMIT = 45009;
const WECOM_FREQUENCY_WAIT_MS = 60_000;
/** WeCom's suggested maximums for text_notice fields, in characters. */
const CARD_TITLE_CHARS_MAX = 26;
const CARD_DESC_CHARS_MAX = 30;
const CARD_SUBTITLE_CHARS_MAX = 112;
const CARD_FIELD_VALUE_CHARS_MAX = 26;
const CARD_QUOTE_CHARS_MAX = 600;

const CARD_WORDS = {
  en: { impact: "Impact", age: "Open for", key: "Key", steps: "What to do" },
  zh: { impact: "影响", age: "持续", key: "告警", steps: "处理步骤" },
} as const;

const cut = (text: string, max: number): string => {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
};

function templateCard(notice: Notice, composed: Composed) {
  const { language, publicBaseUrl } = composed;
  const words = WORDS[language];
  const card = CARD_WORDS[language];
  const url = incidentUrl(publicBaseUrl, notice.key);
  const steps = runbookSteps(notice, language);
  const impact = impactLine(notice.detail, language).replace(/^[^:]+:\s*/, "");
  return {
    msgtype: "template_card",
    template_card: {
      card_type: "text_notice",
      source: { desc: "payguard", desc_color: notice.severity === "critical" ? 2 : 0 },
      main_title: {
        title: cut(
          `${SEVERITY_ICON[notice.severity]} ${words.severity[notice.severity]} · ${words.event[notice.event]}`,
          CARD_TITLE_CHARS_MAX,
        ),
        desc: cut(notice.kind, CARD_DESC_CHARS_MAX),
      },
      sub_title_text: cut(noticeTitle(notice, language), CARD_SUBTITLE_CHARS_MAX),
      horizontal_content_list: [
        { keyname: card.impact, value: cut(impact, CARD_FIELD_VALUE_CHARS_MAX) },
        { keyname: card.age, value: formatDuration(notice.atMs - notice.openedAtMs, language) },
        { keyname: card.key, value: cut(notice.key, CARD_FIELD_VALUE_CHARS_MAX) },
      ],
      ...(steps.length > 0
        ? {
            quote_area: {
              type: 1,
              url,
              title: card.steps,
              quote_text: cut(
                steps.map((step, index) => `${index + 1}. ${step}`).join("\n"),
                CARD_QUOTE_CHARS_MAX,
              ),
            },
          }
        : {}),
      jump_list: [{ type: 1, title: words.open, url }],
      card_action: { type: 1, url },
    },
  };
}

export const wecomSender: Sender = {
  markup: MARKDOWN,
  payload(composed: Composed) {
    const [first] = composed.notices;
    if (first && !composed.digest) return templateCard(first, composed);
    return {
      msgtype: "markdown",
      markdown: { content: cutUtf8(composed.lines.join("\n"), WECOM_MARKDOWN_BYTES_MAX) },
    };
  },
  async send(channel, payload) {
    const response = await postJson(channel.url, payload);
    if (!(response instanceof Response)) return response;
    const answer = await readErrcode(response);
    if ("kind" in answer) return answer;
    if (answer.errcode === 0) return { kind: "sent" };
    if (answer.errcode === WECOM_FREQUENCY_LIMIT)
      return { kind: "retry", reason: "wecom 45009 frequency", afterMs: WECOM_FREQUENCY_WAIT_MS };
    return { kind: "config", reason: `wecom ${answer.errcode} ${answer.errmsg.slice(0, 60)}` };
  },
};
