/**
 * DingTalk custom robot with signing ("加签"): sign = base64(HMAC-SHA256(secret, `${ms}\n${secret}`)),
 * handed raw to URLSearchParams so it is URL-encoded exactly once. HTTP 200 always; `errcode` decides.
 * The signature's timestamp is checked against DingTalk's own clock (±1 h), so it is the wall clock at
 * the moment of sending, not the desk's scheduling time.
 *
 * An incident message is an ActionCard: the markdown text and a button to the incident page (a digest's
 * button opens the incident list). DingTalk @-mentions only from text and markdown messages, so when
 * DINGTALK_AT_MOBILES names people the message stays markdown, with the same link in its text, and the
 * mentions keep ringing.
 */
import type { Composed } from "../compose.ts";
import { incidentsUrl, incidentUrl, MARKDOWN, WORDS } from "../message.ts";
import type { ChannelSettings } from "../settings.ts";
import { postJson, readErrcode, type Sender } from "./types.ts";

const DINGTALK_THROTTLED = 130101;
/** DingTalk blocks a robot for 10 minutes after it exceeds 20 messages a minute. */
export const DINGTALK_THROTTLE_MS = 10 * 60_000;

export async function dingtalkSign(secret: string, timestampMs: number): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestampMs}\n${secret}`));
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

export async function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): Promise<string> {
  const signed = new URL(url);
  signed.searchParams.set("timestamp", String(timestampMs));
  signed.searchParams.set("sign", await dingtalkSign(secret, timestampMs));
  return signed.toString();
}

function markdownPayload(composed: Composed, channel: ChannelSettings) {
  const mentions = channel.atMobiles.map((mobile) => `@${mobile}`).join(" ");
  const text = mentions ? `${composed.lines.join("\n")}\n\n${mentions}` : composed.lines.join("\n");
  return {
    msgtype: "markdown",
    markdown: { title: composed.title, text },
    at: { atMobiles: channel.atMobiles, isAtAll: false },
  };
}

function actionCardPayload(composed: Composed) {
  const [first] = composed.notices;
  const words = WORDS[composed.language];
  const single = first && !composed.digest;
  return {
    msgtype: "actionCard",
    actionCard: {
      title: composed.title,
      text: composed.lines.join("\n"),
      btnOrientation: "0",
      singleTitle: single ? words.open : words.openList,
      singleURL: single
        ? incidentUrl(composed.publicBaseUrl, first.key)
        : incidentsUrl(composed.publicBaseUrl),
    },
  };
}

export const dingtalkSender: Sender = {
  markup: MARKDOWN,
  payload(composed: Composed, channel) {
    if (channel.atMobiles.length > 0 || composed.notices.length === 0)
      return markdownPayload(composed, channel);
    return actionCardPayload(composed);
  },
  async send(channel, payload) {
    const url = await dingtalkSignedUrl(channel.url, channel.secret ?? "", Date.now());
    const response = await postJson(url, payload);
    if (!(response instanceof Response)) return response;
    const answer = await readErrcode(response);
    if ("kind" in answer) return answer;
    if (answer.errcode === 0) return { kind: "sent" };
    if (answer.errcode === DINGTALK_THROTTLED)
      return { kind: "retry", reason: "dingtalk 130101 throttled", afterMs: DINGTALK_THROTTLE_MS };
    return { kind: "config", reason: `dingtalk ${answer.errcode} ${answer.errmsg.slice(0, 60)}` };
  },
};
