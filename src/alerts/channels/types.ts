/**
 * What every channel sender shares: the outcome of one attempt, and each channel's limits. The desk
 * retries `retry` outcomes with backoff and stops at `config` ones until the settings change.
 */
import type { Composed } from "../compose.ts";
import type { ChannelName, ChannelSettings } from "../settings.ts";

export type SendOutcome =
  | { kind: "sent" }
  /** Transient: network, 5xx, throttling. `afterMs` is the channel's own wait (Retry-After, throttle). */
  | { kind: "retry"; reason: string; afterMs: number | null }
  /** The channel refuses this configuration (bad secret, wrong key, revoked webhook): a human must fix it. */
  | { kind: "config"; reason: string };

export interface ChannelLimits {
  /** Messages accepted per rolling minute. */
  perMinuteMax: number;
  /** Gap between two messages. */
  intervalMs: number;
  /** Size of the message body we build (bytes of UTF-8). */
  bodyBytesMax: number;
}

/** Slack asks for about one message per second; DingTalk and WeCom robots take 20 a minute. */
export const CHANNEL_LIMITS: Record<ChannelName, ChannelLimits> = {
  slack: { perMinuteMax: 60, intervalMs: 1_000, bodyBytesMax: 36_000 },
  dingtalk: { perMinuteMax: 20, intervalMs: 0, bodyBytesMax: 18_000 },
  wecom: { perMinuteMax: 20, intervalMs: 0, bodyBytesMax: 4_096 },
};

export const ALERT_SEND_TIMEOUT_MS = 10_000;

export interface Sender {
  /** The JSON body for this channel (stored before the first attempt). */
  payload(composed: Composed, channel: ChannelSettings): unknown;
  send(channel: ChannelSettings, payload: unknown): Promise<SendOutcome>;
}

/** POSTs JSON; a network failure or timeout comes back as a retry outcome, never a throw. */
export async function postJson(url: string, payload: unknown): Promise<Response | SendOutcome> {
  try {
    return await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(ALERT_SEND_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: "retry", reason: `network: ${(error as Error).name}`, afterMs: null };
  }
}

/** DingTalk and WeCom answer HTTP 200 with `{errcode, errmsg}`; anything else is transient. */
export async function readErrcode(
  response: Response,
): Promise<{ errcode: number; errmsg: string } | SendOutcome> {
  if (!response.ok) return { kind: "retry", reason: `http ${response.status}`, afterMs: null };
  const body = (await response.json().catch(() => null)) as { errcode?: unknown; errmsg?: unknown } | null;
  if (typeof body?.errcode !== "number") return { kind: "retry", reason: "unreadable answer", afterMs: null };
  return { errcode: body.errcode, errmsg: String(body.errmsg ?? "") };
}
