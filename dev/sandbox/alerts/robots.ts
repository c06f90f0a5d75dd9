// Robots: independent sets of the three receivers (their own tokens, per-minute windows, throttling and
// faults), so tests and demos can each watch their own channel without touching anyone else's.
// Faults per robot: `down` (HTTP 503 for every channel, as when the service is unreachable) and
// configurable refusals (Slack status + Retry-After, DingTalk / WeCom errcode) for the next N messages.
import { randomBytes } from "node:crypto";
import { json, type SandboxRequest, type SandboxResponse, text } from "../http.ts";
import { createDingtalkReceiver } from "./dingtalk.ts";
import type { AlertChannel, AlertTokens, ReceivedAlert } from "./types.ts";
import { createWecomReceiver } from "./wecom.ts";

export interface RobotFault {
  channel: AlertChannel;
  /** Slack: the HTTP status to answer (e.g. 429, 403); DingTalk / WeCom answer HTTP 200. */
  status?: number;
  /** DingTalk / WeCom: the errcode to answer (e.g. 130101, 310000, 93000). */
  errcode?: number;
  retryAfterS?: number;
  /** How many messages get this answer (absent: until cleared). */
  count?: number;
}

export interface RobotMode {
  down: boolean;
  faults: RobotFault[];
}

export function newRobotTokens(): AlertTokens {
  return {
    slackToken: randomBytes(12).toString("hex"),
    dingtalkToken: randomBytes(32).toString("hex"),
    dingtalkSecret: `SEC${randomBytes(32).toString("hex")}`,
    wecomKey: randomBytes(16).toString("hex"),
  };
}

export function createRobot(name: string, tokens: AlertTokens) {
  const dingtalk = createDingtalkReceiver(tokens.dingtalkToken, tokens.dingtalkSecret);
  const wecom = createWecomReceiver(tokens.wecomKey);
  const mode: RobotMode = { down: false, faults: [] };

  /** The configured refusal for this channel, if any, as the channel would answer it. */
  function faulted(
    channel: AlertChannel,
  ): { response: SandboxResponse; status: number; errcode?: number } | null {
    if (mode.down) return { response: text(503, "service unavailable"), status: 503 };
    const fault = mode.faults.find((candidate) => candidate.channel === channel);
    if (!fault) return null;
    if (fault.count !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) mode.faults.splice(mode.faults.indexOf(fault), 1);
    }
    if (channel === "slack") {
      const status = fault.status ?? 500;
      const headers: Record<string, string> = fault.retryAfterS
        ? { "retry-after": String(fault.retryAfterS) }
        : {};
      return {
        response: text(status, status === 429 ? "rate_limited" : "action_prohibited", headers),
        status,
      };
    }
    const errcode = fault.errcode ?? -1;
    return { response: json(200, { errcode, errmsg: "configured fault" }), status: 200, errcode };
  }

  return {
    name,
    tokens,
    dingtalk,
    wecom,
    mode,
    faulted,
    /** Answers with a configured fault instead of the receiver, recording it like any refusal. */
    refuse(
      channel: AlertChannel,
      request: SandboxRequest,
      nowMs: number,
    ): { response: SandboxResponse; alert: ReceivedAlert } | null {
      const fault = faulted(channel);
      if (!fault) return null;
      let payload: unknown = request.body;
      try {
        payload = JSON.parse(request.body);
      } catch {}
      return {
        response: fault.response,
        alert: {
          channel,
          robot: name,
          receivedAtMs: nowMs,
          accepted: false,
          status: fault.status,
          errcode: fault.errcode,
          payload,
        },
      };
    },
    setMode(next: Partial<RobotMode>): RobotMode {
      if (typeof next.down === "boolean") mode.down = next.down;
      if (Array.isArray(next.faults)) mode.faults = next.faults.map((fault) => ({ ...fault }));
      return mode;
    },
    reset(): void {
      dingtalk.reset();
      wecom.reset();
      mode.down = false;
      mode.faults = [];
    },
  };
}

export type Robot = ReturnType<typeof createRobot>;
