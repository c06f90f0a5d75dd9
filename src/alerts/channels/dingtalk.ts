/**
 * DingTalk custom robot with signing ("加签"): sign = base64(HMAC-SHA256(secret, `${ms}\n${secret}`)),
 * handed raw to URLSearchParams so it is URL-encoded exactly once. HTTP 200 always; `errcode` decides.
 * The signature's timestamp is checked against DingTalk's own clock (±1 h), so it is the wall clock at
 * the moment of sending, not the desk's scheduling time.
 */
import type { Composed } from "../compose.ts";
import { MARKDOWN } from "../message.ts";
import { postJson, readErrcode, type Sender } from "./types.ts";

export const DINGTALK_MARKUP = MARKDOWN;
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

export const dingtalkSender: Sender = {
  payload(composed: Composed, channel) {
    const mentions = channel.atMobiles.map((mobile) => `@${mobile}`).join(" ");
    const text = mentions ? `${composed.lines.join("\n")}\n\n${mentions}` : composed.lines.join("\n");
    return {
      msgtype: "markdown",
      markdown: { title: composed.title, text },
      at: { atMobiles: channel.atMobiles, isAtAll: false },
    };
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
