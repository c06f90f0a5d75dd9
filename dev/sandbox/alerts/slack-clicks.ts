// The sandbox's Slack app at work: clicking a button on a message a robot's Slack webhook received (the
// signed `block_actions` request, posted to the app's interactivity URL or handed back), and the
// `response_url` those clicks carry (updates of the original message, ephemeral replies).
import type { ControlBody } from "../control.ts";
import { type Clock, json, type SandboxRequest, type SandboxResponse, text } from "../http.ts";
import {
  findClick,
  interactionPayload,
  type ResponseTarget,
  responseRefusal,
  SANDBOX_SLACK_USER,
  SLACK_RESPONSE_PATH_PREFIX,
  signedInteraction,
} from "./slack-app.ts";
import { isObject, parseJson, type ReceivedAlert } from "./types.ts";

const INTERACTION_TIMEOUT_MS = 10_000;

export interface SlackClicksOptions {
  clock: Clock;
  baseUrl?: () => string;
  interactivityUrl?: string;
  signingSecret: string;
  /** The receivers' log (read for messages to click on) and how to add to it. */
  received: readonly ReceivedAlert[];
  keep(alert: ReceivedAlert): ReceivedAlert;
}

const field = (body: ControlBody, name: string): string | undefined =>
  typeof body[name] === "string" ? (body[name] as string) : undefined;

export function createSlackClicks(options: SlackClicksOptions) {
  const responses = new Map<string, ResponseTarget>();

  function respond(request: SandboxRequest, nowMs: number): SandboxResponse {
    const target = responses.get(request.path.slice(SLACK_RESPONSE_PATH_PREFIX.length));
    const parsed = parseJson(request.body);
    const refusal =
      request.method !== "POST"
        ? "invalid_method"
        : responseRefusal(target, parsed.ok ? parsed.value : null, nowMs);
    const payload = parsed.ok ? parsed.value : parsed.raw;
    options.keep({
      channel: "slack",
      kind: "response",
      robot: target?.alert.robot,
      receivedAtMs: nowMs,
      accepted: refusal === null,
      status: refusal === null ? 200 : 404,
      payload,
    });
    if (refusal !== null || !target) return text(404, refusal ?? "expired_url");
    target.uses += 1;
    if (isObject(payload) && payload.replace_original === true)
      target.alert.current = { text: payload.text, blocks: payload.blocks };
    return text(200, "ok");
  }

  /** The robot's Slack messages a click could be on, newest first, as they read now. */
  function messagesOf(robot: string, seq: unknown) {
    return options.received
      .filter(
        (alert) =>
          alert.robot === robot && alert.channel === "slack" && alert.accepted && alert.kind !== "response",
      )
      .filter((alert) => typeof seq !== "number" || alert.seq === seq)
      .reverse()
      .map((alert) => {
        const message = (alert.current ?? alert.payload) as { text?: string; blocks?: unknown[] };
        const blocks = Array.isArray(message.blocks) ? message.blocks.filter(isObject) : [];
        return { alert, text: message.text ?? "", blocks };
      });
  }

  async function send(signed: ReturnType<typeof signedInteraction>): Promise<number> {
    const url = options.interactivityUrl as string;
    const answer = await fetch(url, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
      signal: AbortSignal.timeout(INTERACTION_TIMEOUT_MS),
    }).catch(() => ({ status: 0 }));
    return answer.status;
  }

  /** A click on the latest Slack message of `robot` that has the element (or on message `seq`). */
  async function click(robot: string, body: ControlBody): Promise<SandboxResponse> {
    if (typeof body.action !== "string") return json(400, { error: "action is required" });
    const nowMs = options.clock();
    const request = { action: body.action, blockId: field(body, "blockId"), key: field(body, "key") };
    for (const message of messagesOf(robot, body.seq)) {
      const clicked = findClick(message.blocks, request, nowMs);
      if (!clicked) continue;
      const id = `${robot}.${message.alert.seq}.${responses.size + 1}`;
      responses.set(id, { alert: message.alert, createdAtMs: nowMs, uses: 0 });
      const responseUrl = `${options.baseUrl?.() ?? ""}${SLACK_RESPONSE_PATH_PREFIX}${id}`;
      const user = {
        id: field(body, "userId") ?? SANDBOX_SLACK_USER.id,
        name: field(body, "userName") ?? SANDBOX_SLACK_USER.name,
      };
      const ts = `${Math.floor(message.alert.receivedAtMs / 1000)}.${String(message.alert.seq).padStart(6, "0")}`;
      const payload = interactionPayload(
        { text: message.text, blocks: message.blocks, ts },
        clicked,
        user,
        responseUrl,
      );
      const timestampS = typeof body.timestampS === "number" ? body.timestampS : Math.floor(nowMs / 1000);
      const signed = signedInteraction(
        payload,
        field(body, "signingSecret") ?? options.signingSecret,
        timestampS,
      );
      const delivery = { url: options.interactivityUrl ?? "", ...signed };
      if (body.deliver === false || !options.interactivityUrl)
        return json(200, { delivery, responseUrl, payload });
      return json(200, { delivery, responseUrl, payload, status: await send(signed) });
    }
    return json(404, { error: `no Slack message of ${robot} offers ${body.action}` });
  }

  return { respond, click, reset: () => responses.clear() };
}
