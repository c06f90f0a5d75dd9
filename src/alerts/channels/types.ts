/**
 * What every channel sender shares: the outcome of one attempt, and each channel's limits. The desk
 * retries `retry` outcomes with backoff and stops at `config` ones until the settings change.
 */
import type { Composed } from "../compose.ts";
import type { Markup } from "../message.ts";
import type { ChannelName, ChannelSettings } from "../settings.ts";

export type SendOutcome =
  | { kind: "sent" }
  /**
   * Transient: network, 5xx, throttling. `afterMs` is the channel's own wait (Retry-After, throttle).
   * `payload`, when set, replaces the stored one: what is left to do (an email some recipients already got).
   */
  | { kind: "retry"; reason: string; afterMs: number | null; payload?: unknown }
  /** The channel refuses this configuration (bad secret, wrong key, revoked webhook): a human must fix it. */
  | { kind: "config"; reason: string };

export interface ChannelLimits {
  /** Messages accepted per rolling minute. */
  perMinuteMax: number;
  /** Gap between two messages. */
  intervalMs: number;
  /** Size of the message body we build (bytes of UTF-8). */
  bodyBytesMax: number;
  /** Incidents one digest may carry (Slack: 50 blocks a message, one section per incident). */
  digestItemsMax: number;
}

/**
 * Slack asks for about one message per second; DingTalk and WeCom robots take 20 a minute. Email has no
 * published per-minute figure for Workers: ten a minute keeps an alert storm from looking like a spam run.
 */
export const CHANNEL_LIMITS: Record<ChannelName, ChannelLimits> = {
  slack: { perMinuteMax: 60, intervalMs: 1_000, bodyBytesMax: 36_000, digestItemsMax: 45 },
  dingtalk: { perMinuteMax: 20, intervalMs: 0, bodyBytesMax: 18_000, digestItemsMax: 1_000 },
  wecom: { perMinuteMax: 20, intervalMs: 0, bodyBytesMax: 4_096, digestItemsMax: 1_000 },
  email: { perMinuteMax: 10, intervalMs: 1_000, bodyBytesMax: 200_000, digestItemsMax: 1_000 },
};

export const ALERT_SEND_TIMEOUT_MS = 10_000;

/** What a send may need besides the channel's settings: the bindings a webhook channel does not. */
export interface SendIo {
  /**
   * The `EMAIL` send_email binding and `cloudflare:email`'s EmailMessage (passed in, so the senders load
   * outside workerd too); null when the deployment has no binding.
   */
  email: { binding: EmailBinding; message: (from: string, to: string, raw: string) => unknown } | null;
}

/** The slice of the `send_email` binding the email sender uses (its `EmailMessage` comes from `message`). */
export interface EmailBinding {
  send(message: never): Promise<unknown>;
}

export interface Sender {
  /** How this channel writes bold text and links, and escapes text that is not ours. */
  markup: Markup;
  /** The body for this channel (stored before the first attempt). `notices` is empty for a post. */
  payload(composed: Composed, channel: ChannelSettings): unknown;
  send(channel: ChannelSettings, payload: unknown, io: SendIo): Promise<SendOutcome>;
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
