// The alert receivers (Slack, DingTalk, WeCom) mounted under /alerts/, the Slack app's side of button
// clicks (slack-app.ts), and the emails the worker's send_email binding wrote locally (email.ts). They keep
// every message they received, accepted or not, for tests and the dashboard (`GET /_control/alerts`).
// Besides the default robot (tokens from the keys file), `POST /_control/alerts/robots` makes fresh,
// independent ones, each with its own email recipient.
import type { ControlBody, ControlRoute } from "../control.ts";
import { type Clock, json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { DINGTALK_PATH } from "./dingtalk.ts";
import { readSentEmails } from "./email.ts";
import { createRobot, newRobotTokens, type Robot, type RobotFault } from "./robots.ts";
import { receiveSlack, SLACK_PATH_PREFIX } from "./slack.ts";
import { SLACK_RESPONSE_PATH_PREFIX, slackSigningSecret } from "./slack-app.ts";
import { createSlackClicks } from "./slack-clicks.ts";
import type { AlertChannel, AlertTokens, ReceivedAlert } from "./types.ts";
import { WECOM_PATH } from "./wecom.ts";

export const ALERTS_KEPT_MAX = 5_000;
export const DEFAULT_ROBOT = "default";
const CHANNELS: readonly AlertChannel[] = ["slack", "dingtalk", "wecom", "email"];

/** Each robot's alert email recipient, derived from its tokens. */
export const robotEmail = (tokens: AlertTokens): string =>
  `alerts+${tokens.slackToken.slice(0, 16)}@payguard.test`;

export function alertUrls(baseUrl: string, tokens: AlertTokens) {
  return {
    slackUrl: `${baseUrl}${SLACK_PATH_PREFIX}${tokens.slackToken}`,
    dingtalkUrl: `${baseUrl}${DINGTALK_PATH}?access_token=${tokens.dingtalkToken}`,
    dingtalkSecret: tokens.dingtalkSecret,
    wecomUrl: `${baseUrl}${WECOM_PATH}?key=${tokens.wecomKey}`,
    emailTo: robotEmail(tokens),
  };
}

function counts(alerts: readonly ReceivedAlert[]) {
  const tally = (channel: AlertChannel, accepted: boolean) =>
    alerts.filter(
      (alert) => alert.channel === channel && alert.accepted === accepted && alert.kind !== "response",
    ).length;
  return Object.fromEntries(
    CHANNELS.map((channel) => [channel, { accepted: tally(channel, true), refused: tally(channel, false) }]),
  );
}

export function createAlertReceivers(options: {
  clock: Clock;
  tokens: AlertTokens;
  baseUrl?: () => string;
  /** Where the Slack app's clicks go (payguard's `/slack/interactions`); unset: clicks are handed back. */
  interactivityUrl?: string;
}) {
  const robots = new Map<string, Robot>([[DEFAULT_ROBOT, createRobot(DEFAULT_ROBOT, options.tokens)]]);
  const fallback = robots.get(DEFAULT_ROBOT) as Robot;
  const received: ReceivedAlert[] = [];
  let seq = 0;
  const signingSecret = slackSigningSecret(options.tokens);
  const find = (match: (tokens: AlertTokens) => boolean): Robot =>
    [...robots.values()].find((robot) => match(robot.tokens)) ?? fallback;

  const keep = (alert: ReceivedAlert): ReceivedAlert => {
    seq += 1;
    const entry = { ...alert, seq };
    received.push(entry);
    if (received.length > ALERTS_KEPT_MAX) received.shift();
    return entry;
  };
  const clicks = createSlackClicks({
    clock: options.clock,
    baseUrl: options.baseUrl,
    interactivityUrl: options.interactivityUrl,
    signingSecret,
    received,
    keep,
  });

  function route(request: SandboxRequest, nowMs: number) {
    if (request.path.startsWith(SLACK_RESPONSE_PATH_PREFIX))
      return { direct: clicks.respond(request, nowMs) };
    if (request.path.startsWith(SLACK_PATH_PREFIX)) {
      const robot = find((tokens) => tokens.slackToken === request.path.slice(SLACK_PATH_PREFIX.length));
      return {
        robot,
        result:
          robot.refuse("slack", request, nowMs) ?? receiveSlack(request, robot.tokens.slackToken, nowMs),
      };
    }
    if (request.method !== "POST") return null;
    if (request.path === DINGTALK_PATH) {
      const robot = find((tokens) => tokens.dingtalkToken === request.query.get("access_token"));
      return {
        robot,
        result: robot.refuse("dingtalk", request, nowMs) ?? robot.dingtalk.receive(request, nowMs),
      };
    }
    if (request.path === WECOM_PATH) {
      const robot = find((tokens) => tokens.wecomKey === request.query.get("key"));
      return { robot, result: robot.refuse("wecom", request, nowMs) ?? robot.wecom.receive(request, nowMs) };
    }
    return null;
  }

  function robotNamed(body: ControlBody): Robot | SandboxResponse {
    const robot = robots.get(typeof body.robot === "string" ? body.robot : DEFAULT_ROBOT);
    return robot ?? json(404, { error: "unknown robot" });
  }

  /** The emails the binding wrote to any robot's recipient, as received alerts. */
  function emails(): ReceivedAlert[] {
    const byAddress = new Map([...robots.values()].map((robot) => [robotEmail(robot.tokens), robot.name]));
    return readSentEmails().flatMap((email) => {
      const robot = email.to.map((address) => byAddress.get(address)).find(Boolean);
      return robot
        ? [
            {
              channel: "email" as const,
              robot,
              receivedAtMs: email.sentAtMs,
              accepted: true,
              status: 250,
              payload: email,
            },
          ]
        : [];
    });
  }

  const controlRoutes = (): ControlRoute[] => [
    {
      method: "GET",
      path: "/_control/alerts",
      run: (_body, request) => {
        const robot = request.query.get("robot");
        const all = [...received, ...emails()];
        const alerts = robot ? all.filter((alert) => alert.robot === robot) : all;
        return json(200, { alerts, counts: counts(alerts) });
      },
    },
    {
      method: "POST",
      path: "/_control/alerts/robots",
      run: () => {
        const name = `robot_${robots.size}`;
        const robot = createRobot(name, newRobotTokens());
        robots.set(name, robot);
        return json(200, { robot: name, ...alertUrls(options.baseUrl?.() ?? "", robot.tokens) });
      },
    },
    {
      method: "POST",
      path: "/_control/alerts/mode",
      run: (body) => {
        const robot = robotNamed(body);
        if (!("setMode" in robot)) return robot;
        const faults = Array.isArray(body.faults) ? (body.faults as RobotFault[]) : undefined;
        const down = typeof body.down === "boolean" ? body.down : undefined;
        return json(200, { robot: robot.name, mode: robot.setMode({ down, faults }) });
      },
    },
    {
      method: "POST",
      path: "/_control/alerts/slack/click",
      run: (body) => {
        const robot = robotNamed(body);
        return "setMode" in robot ? clicks.click(robot.name, body) : robot;
      },
    },
  ];

  return {
    handle(request: SandboxRequest): SandboxResponse | null {
      const routed = route(request, options.clock());
      if (!routed) return null;
      if ("direct" in routed) return routed.direct ?? null;
      keep({ ...routed.result.alert, robot: routed.robot.name });
      return routed.result.response;
    },
    received: (): readonly ReceivedAlert[] => received,
    /** The Slack app's signing secret payguard's SLACK_SIGNING_SECRET must hold. */
    slackSigningSecret: signingSecret,
    controlRoutes,
    reset(): void {
      received.length = 0;
      clicks.reset();
      for (const robot of robots.values()) robot.reset();
    },
  };
}

export type AlertReceivers = ReturnType<typeof createAlertReceivers>;
