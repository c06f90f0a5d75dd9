// The alert receivers (Slack, DingTalk, WeCom) mounted under /alerts/. They keep every message they
// received, accepted or not, for tests and the dashboard (`GET /_control/alerts`).
import type { Clock, SandboxRequest, SandboxResponse } from "../http.ts";
import { createDingtalkReceiver, DINGTALK_PATH } from "./dingtalk.ts";
import { receiveSlack, SLACK_PATH_PREFIX } from "./slack.ts";
import type { AlertTokens, ReceivedAlert } from "./types.ts";
import { createWecomReceiver, WECOM_PATH } from "./wecom.ts";

export const ALERTS_KEPT_MAX = 1_000;

export function alertUrls(baseUrl: string, tokens: AlertTokens) {
  return {
    slackUrl: `${baseUrl}${SLACK_PATH_PREFIX}${tokens.slackToken}`,
    dingtalkUrl: `${baseUrl}${DINGTALK_PATH}?access_token=${tokens.dingtalkToken}`,
    dingtalkSecret: tokens.dingtalkSecret,
    wecomUrl: `${baseUrl}${WECOM_PATH}?key=${tokens.wecomKey}`,
  };
}

export function createAlertReceivers(options: { clock: Clock; tokens: AlertTokens }) {
  const { tokens } = options;
  const dingtalk = createDingtalkReceiver(tokens.dingtalkToken, tokens.dingtalkSecret);
  const wecom = createWecomReceiver(tokens.wecomKey);
  const received: ReceivedAlert[] = [];

  function route(request: SandboxRequest, nowMs: number) {
    if (request.path.startsWith(SLACK_PATH_PREFIX)) return receiveSlack(request, tokens.slackToken, nowMs);
    if (request.method !== "POST") return null;
    if (request.path === DINGTALK_PATH) return dingtalk.receive(request, nowMs);
    if (request.path === WECOM_PATH) return wecom.receive(request, nowMs);
    return null;
  }

  return {
    handle(request: SandboxRequest): SandboxResponse | null {
      const result = route(request, options.clock());
      if (!result) return null;
      received.push(result.alert);
      if (received.length > ALERTS_KEPT_MAX) received.shift();
      return result.response;
    },
    received: (): readonly ReceivedAlert[] => received,
    reset(): void {
      received.length = 0;
      dingtalk.reset();
      wecom.reset();
    },
  };
}

export type AlertReceivers = ReturnType<typeof createAlertReceivers>;
