// What the alert receivers share: the tokens they accept, what they remember, and a sliding-window
// message counter for the per-minute limits DingTalk and WeCom enforce.

/** `email` entries are read back from the local send_email simulation (email.ts), not received over HTTP. */
export type AlertChannel = "slack" | "dingtalk" | "wecom" | "email";

export interface AlertTokens {
  slackToken: string;
  dingtalkToken: string;
  dingtalkSecret: string;
  wecomKey: string;
}

export interface ReceivedAlert {
  channel: AlertChannel;
  /** `response`: a message the app sent to a Slack `response_url` (an update of an earlier message). */
  kind?: "message" | "response";
  /** Position in the receivers' log, so a click can name the message it is on. */
  seq?: number;
  /** Slack: the message as it reads now, after a `replace_original` response. */
  current?: unknown;
  /** which robot (receiver set) got it: "default" or a name from `POST /_control/alerts/robots` */
  robot?: string;
  receivedAtMs: number;
  /** true when the channel would have shown the message */
  accepted: boolean;
  status: number;
  /** DingTalk / WeCom answer code (0 = ok) */
  errcode?: number;
  /** the parsed JSON body, or the raw text when it was not JSON */
  payload: unknown;
}

export const MINUTE_MS = 60_000;

/** Counts accepted messages in the last minute. */
export function createMinuteWindow() {
  let stamps: number[] = [];
  return {
    count(nowMs: number): number {
      stamps = stamps.filter((at) => at > nowMs - MINUTE_MS);
      return stamps.length;
    },
    add(nowMs: number): void {
      stamps.push(nowMs);
    },
    clear(): void {
      stamps = [];
    },
  };
}

export function parseJson(body: string): { ok: true; value: unknown } | { ok: false; raw: string } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false, raw: body };
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
