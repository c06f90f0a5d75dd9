/**
 * Alert settings: which channels are configured, in which language each one speaks, who DingTalk @-mentions
 * and how often an open incident is repeated. Parsed once with the rest of the config (src/env.ts).
 */

export type AlertLanguage = "en" | "zh";
export type ChannelName = "slack" | "dingtalk" | "wecom";

export interface ChannelSettings {
  name: ChannelName;
  /** The webhook URL; it carries the channel's token, so it is never logged. */
  url: string;
  /** DingTalk signing secret ("加签"); null for the other channels. */
  secret: string | null;
  language: AlertLanguage;
  /** DingTalk only: phone numbers to @-mention on every message. */
  atMobiles: string[];
}

export interface AlertSettings {
  channels: ChannelSettings[];
  /** An open incident that nobody acknowledged or muted is posted again after this long. */
  reminderIntervalMs: number;
}

export const ALERT_REMINDER_MINUTES_DEFAULT = 60;
const ALERT_REMINDER_MINUTES_MIN = 5;
const DEFAULT_LANGUAGE: Record<ChannelName, AlertLanguage> = { slack: "en", dingtalk: "zh", wecom: "zh" };

type RawEnv = Record<string, unknown>;

const text = (env: RawEnv, name: string): string => {
  const value = env[name];
  return typeof value === "string" ? value.trim() : "";
};

function language(env: RawEnv, channel: ChannelName, problems: string[]): AlertLanguage {
  const name = `ALERT_LANGUAGE_${channel.toUpperCase()}`;
  const value = text(env, name) || DEFAULT_LANGUAGE[channel];
  if (value === "en" || value === "zh") return value;
  problems.push(`${name} must be en or zh`);
  return DEFAULT_LANGUAGE[channel];
}

function webhookUrl(env: RawEnv, name: string, problems: string[]): string | null {
  const value = text(env, name);
  if (!value) return null;
  if (!URL.canParse(value)) {
    problems.push(`${name} is not a valid URL`);
    return null;
  }
  return value;
}

function reminderIntervalMs(env: RawEnv, problems: string[]): number {
  const raw = text(env, "ALERT_REMINDER_MINUTES");
  const minutes = raw ? Number(raw) : ALERT_REMINDER_MINUTES_DEFAULT;
  if (!Number.isInteger(minutes) || minutes < ALERT_REMINDER_MINUTES_MIN) {
    problems.push(`ALERT_REMINDER_MINUTES must be a whole number ≥ ${ALERT_REMINDER_MINUTES_MIN}`);
    return ALERT_REMINDER_MINUTES_DEFAULT * 60_000;
  }
  return minutes * 60_000;
}

/** Pure: collects every problem by name; a channel without a URL is simply not configured. */
export function parseAlertSettings(env: RawEnv, problems: string[]): AlertSettings {
  const channels: ChannelSettings[] = [];
  const base = (name: ChannelName, url: string) => ({
    name,
    url,
    secret: null,
    language: language(env, name, problems),
    atMobiles: [],
  });
  const slack = webhookUrl(env, "SLACK_WEBHOOK_URL", problems);
  if (slack) channels.push(base("slack", slack));
  const dingtalk = webhookUrl(env, "DINGTALK_WEBHOOK_URL", problems);
  if (dingtalk) {
    const secret = text(env, "DINGTALK_SECRET");
    if (!secret) problems.push("DINGTALK_SECRET is missing (DINGTALK_WEBHOOK_URL is set)");
    const atMobiles = text(env, "DINGTALK_AT_MOBILES")
      .split(",")
      .map((mobile) => mobile.trim())
      .filter(Boolean);
    channels.push({ ...base("dingtalk", dingtalk), secret, atMobiles });
  }
  const wecom = webhookUrl(env, "WECOM_WEBHOOK_URL", problems);
  if (wecom) channels.push(base("wecom", wecom));
  return { channels, reminderIntervalMs: reminderIntervalMs(env, problems) };
}
