/** WeCom (企业微信) group robot: markdown content of at most 4096 bytes, cut on a character boundary. */
import { type Composed, cutUtf8 } from "../compose.ts";
import { MARKDOWN } from "../message.ts";
import { postJson, readErrcode, type Sender } from "./types.ts";

export const WECOM_MARKUP = MARKDOWN;
export const WECOM_MARKDOWN_BYTES_MAX = 4_096;
const WECOM_FREQUENCY_LIMIT = 45009;
const WECOM_FREQUENCY_WAIT_MS = 60_000;

export const wecomSender: Sender = {
  payload(composed: Composed) {
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
