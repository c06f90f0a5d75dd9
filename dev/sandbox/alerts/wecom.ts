// WeCom (企业微信) group robot receiver: `POST /alerts/wecom/cgi-bin/webhook/send?key=...`. The key is
// the secret. Checks the key, the message type, markdown content at most 4096 bytes, template cards'
// required parts and 20 messages per minute; always HTTP 200 with an errcode, as WeCom answers.
import { json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { createMinuteWindow, isObject, parseJson, type ReceivedAlert } from "./types.ts";

export const WECOM_PATH = "/alerts/wecom/cgi-bin/webhook/send";
export const WECOM_MARKDOWN_MAX_BYTES = 4096;
export const WECOM_TEXT_MAX_BYTES = 2048;
export const WECOM_MESSAGES_PER_MINUTE_MAX = 20;

export const WECOM_OK = 0;
export const WECOM_INVALID_KEY = 93000;
export const WECOM_CONTENT_TOO_LONG = 40058;
export const WECOM_INVALID_TYPE = 40008;
export const WECOM_FREQUENCY_LIMIT = 45009;
/** Sandbox approximation for a template card WeCom would not render. */
export const WECOM_INVALID_PARAMETER = 40035;
export const WECOM_CARD_FIELDS_MAX = 6;
export const WECOM_CARD_JUMPS_MAX = 3;

/**
 * A `text_notice` / `news_notice` template card: a main title or sub-title text, a card action (type 1 needs
 * a url), at most 6 horizontal fields and 3 jump links, each link with its url.
 */
function cardCheck(card: unknown): [number, string] {
  if (!isObject(card) || (card.card_type !== "text_notice" && card.card_type !== "news_notice"))
    return [WECOM_INVALID_PARAMETER, "template_card.card_type must be text_notice or news_notice"];
  const title = isObject(card.main_title) ? card.main_title.title : undefined;
  if (typeof title !== "string" && typeof card.sub_title_text !== "string")
    return [WECOM_INVALID_PARAMETER, "main_title.title or sub_title_text is required"];
  const action = card.card_action;
  if (!isObject(action) || (action.type === 1 && typeof action.url !== "string"))
    return [WECOM_INVALID_PARAMETER, "card_action with its url is required"];
  const fields = Array.isArray(card.horizontal_content_list) ? card.horizontal_content_list : [];
  const jumps = Array.isArray(card.jump_list) ? card.jump_list : [];
  if (fields.length > WECOM_CARD_FIELDS_MAX || jumps.length > WECOM_CARD_JUMPS_MAX)
    return [WECOM_INVALID_PARAMETER, "too many horizontal_content_list or jump_list items"];
  const linksOk = [...fields, ...jumps].every(
    (item) => isObject(item) && (item.type !== 1 || typeof item.url === "string"),
  );
  return linksOk ? [WECOM_OK, "ok"] : [WECOM_INVALID_PARAMETER, "a link item needs its url"];
}

function contentCheck(value: unknown): [number, string] {
  if (!isObject(value)) return [WECOM_INVALID_TYPE, "invalid message type"];
  if (value.msgtype === "template_card") return cardCheck(value.template_card);
  const bytes = (content: unknown) => (typeof content === "string" ? Buffer.byteLength(content, "utf8") : -1);
  const limits: Record<string, [string, number]> = {
    markdown: ["markdown", WECOM_MARKDOWN_MAX_BYTES],
    text: ["text", WECOM_TEXT_MAX_BYTES],
  };
  const limit = limits[String(value.msgtype)];
  if (!limit) return [WECOM_INVALID_TYPE, "invalid message type"];
  const [field, maxBytes] = limit;
  const section = value[field];
  const size = isObject(section) ? bytes(section.content) : -1;
  if (size < 0) return [WECOM_INVALID_TYPE, `missing ${field}.content`];
  if (size > maxBytes) return [WECOM_CONTENT_TOO_LONG, `${field}.content exceed max length ${maxBytes}`];
  return [WECOM_OK, "ok"];
}

export function createWecomReceiver(key: string) {
  const window = createMinuteWindow();
  return {
    receive(request: SandboxRequest, nowMs: number): { response: SandboxResponse; alert: ReceivedAlert } {
      const parsed = parseJson(request.body);
      let [errcode, errmsg]: [number, string] =
        request.query.get("key") !== key
          ? [WECOM_INVALID_KEY, "invalid webhook url"]
          : contentCheck(parsed.ok ? parsed.value : null);
      if (errcode === WECOM_OK && window.count(nowMs) >= WECOM_MESSAGES_PER_MINUTE_MAX)
        [errcode, errmsg] = [WECOM_FREQUENCY_LIMIT, "api freq out of limit"];
      if (errcode === WECOM_OK) window.add(nowMs);
      return {
        response: json(200, { errcode, errmsg }),
        alert: {
          channel: "wecom",
          receivedAtMs: nowMs,
          accepted: errcode === WECOM_OK,
          status: 200,
          errcode,
          payload: parsed.ok ? parsed.value : parsed.raw,
        },
      };
    },
    reset: (): void => window.clear(),
  };
}
