// DingTalk custom robot receiver with "加签" (signed) security: checks the signature exactly as DingTalk
// does (base64 HMAC-SHA256 keyed by the secret over `${timestamp}\n${secret}`), the timestamp within one
// hour, and the 20 messages per minute limit (then throttled for 10 minutes). Always HTTP 200 with an
// errcode, as DingTalk answers. Accepts text, markdown and ActionCard messages.
import { createHmac, timingSafeEqual } from "node:crypto";
import { json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { createMinuteWindow, isObject, parseJson, type ReceivedAlert } from "./types.ts";

export const DINGTALK_PATH = "/alerts/dingtalk/robot/send";
export const DINGTALK_TIMESTAMP_TOLERANCE_MS = 60 * 60 * 1000;
export const DINGTALK_MESSAGES_PER_MINUTE_MAX = 20;
export const DINGTALK_THROTTLE_MS = 10 * 60 * 1000;

export const DINGTALK_OK = 0;
export const DINGTALK_TOKEN_MISSING = 300001;
export const DINGTALK_SIGN_MISMATCH = 310000;
export const DINGTALK_TOO_FAST = 130101;
export const DINGTALK_MISSING_PARAM = 40035;

/** What a DingTalk client must send as `sign` (before URL encoding). */
export function dingtalkSign(secret: string, timestampMs: number | string): string {
  return createHmac("sha256", secret).update(`${timestampMs}\n${secret}`, "utf8").digest("base64");
}

function signMatches(secret: string, timestamp: string, sign: string): boolean {
  const expected = Buffer.from(dingtalkSign(secret, timestamp));
  const given = Buffer.from(sign);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** ActionCard: title and markdown text, then one whole-card button or a list of buttons, each with a URL. */
function validActionCard(card: unknown): boolean {
  if (!isObject(card) || typeof card.title !== "string" || typeof card.text !== "string") return false;
  const single = typeof card.singleTitle === "string" && typeof card.singleURL === "string";
  const buttons =
    Array.isArray(card.btns) &&
    card.btns.length > 0 &&
    card.btns.every(
      (button) =>
        isObject(button) && typeof button.title === "string" && typeof button.actionURL === "string",
    );
  return single || buttons;
}

function validMessage(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (value.msgtype === "text") return isObject(value.text) && typeof value.text.content === "string";
  if (value.msgtype === "markdown")
    return (
      isObject(value.markdown) &&
      typeof value.markdown.title === "string" &&
      typeof value.markdown.text === "string"
    );
  if (value.msgtype === "actionCard") return validActionCard(value.actionCard);
  return false;
}

export function createDingtalkReceiver(token: string, secret: string) {
  const window = createMinuteWindow();
  let throttledUntilMs = 0;

  function check(request: SandboxRequest, nowMs: number): [number, string] {
    if (request.query.get("access_token") !== token) return [DINGTALK_TOKEN_MISSING, "token is not exist"];
    const timestamp = request.query.get("timestamp") ?? "";
    const sign = request.query.get("sign") ?? "";
    const timestampMs = Number(timestamp);
    if (!Number.isInteger(timestampMs) || Math.abs(nowMs - timestampMs) > DINGTALK_TIMESTAMP_TOLERANCE_MS)
      return [DINGTALK_SIGN_MISMATCH, "invalid timestamp"];
    if (!signMatches(secret, timestamp, sign)) return [DINGTALK_SIGN_MISMATCH, "sign not match"];
    if (nowMs < throttledUntilMs) return [DINGTALK_TOO_FAST, "send too fast, exceed 20 times per minute"];
    if (window.count(nowMs) >= DINGTALK_MESSAGES_PER_MINUTE_MAX) {
      throttledUntilMs = nowMs + DINGTALK_THROTTLE_MS;
      return [DINGTALK_TOO_FAST, "send too fast, exceed 20 times per minute"];
    }
    return [DINGTALK_OK, "ok"];
  }

  return {
    receive(request: SandboxRequest, nowMs: number): { response: SandboxResponse; alert: ReceivedAlert } {
      const parsed = parseJson(request.body);
      let [errcode, errmsg] = check(request, nowMs);
      if (errcode === DINGTALK_OK && !(parsed.ok && validMessage(parsed.value))) {
        [errcode, errmsg] = [DINGTALK_MISSING_PARAM, "missing or invalid msgtype / content"];
      }
      if (errcode === DINGTALK_OK) window.add(nowMs);
      const payload = parsed.ok ? parsed.value : parsed.raw;
      return {
        response: json(200, { errcode, errmsg }),
        alert: {
          channel: "dingtalk",
          receivedAtMs: nowMs,
          accepted: errcode === DINGTALK_OK,
          status: 200,
          errcode,
          payload,
        },
      };
    },
    reset(): void {
      window.clear();
      throttledUntilMs = 0;
    },
  };
}
