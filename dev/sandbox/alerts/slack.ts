// Slack incoming webhook receiver: `POST /alerts/slack/<token>` with JSON `{text, blocks}`. Answers like
// Slack: 200 `ok` as plain text; plain-string errors (400 invalid_payload, 404 no_service).
import { type SandboxRequest, type SandboxResponse, text } from "../http.ts";
import { isObject, parseJson, type ReceivedAlert } from "./types.ts";

export const SLACK_PATH_PREFIX = "/alerts/slack/";

export function receiveSlack(
  request: SandboxRequest,
  token: string,
  nowMs: number,
): { response: SandboxResponse; alert: ReceivedAlert } {
  const parsed = parseJson(request.body);
  const payload = parsed.ok ? parsed.value : parsed.raw;
  const answer = (status: number, body: string) => ({
    response: text(status, body),
    alert: { channel: "slack" as const, receivedAtMs: nowMs, accepted: status === 200, status, payload },
  });
  if (request.method !== "POST") return answer(405, "invalid_method");
  if (request.path.slice(SLACK_PATH_PREFIX.length) !== token) return answer(404, "no_service");
  if (!parsed.ok || !isObject(parsed.value)) return answer(400, "invalid_payload");
  const messageText = parsed.value.text;
  if (typeof messageText !== "string" || messageText.trim() === "") return answer(400, "invalid_payload");
  return answer(200, "ok");
}
