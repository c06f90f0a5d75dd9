/**
 * Alert settings: which channels are configured, in which language each one speaks, who DingTalk @-mentions,
 * who receives the alert email, how often an open incident is repeated, which channels hear of which
 * incidents (src/alerts/routes.ts) and who may press Slack's buttons. Parsed once with the rest of the config
 * (src/env.ts).
 */
import { type AlertRoutes, EVERYWHERE, parseAlertRoutes } from "./routes.ts";

export type AlertLanguage = "en" | "zh";
export type ChannelName = "slack" | "dingtalk" | "wecom" | "email";
export const CHANNEL_NAMES: readonly ChannelName[] = ["slack", "dingtalk", "wecom", "email"];

export interface EmailSettings {
  /** The envelope and `From:` address; its domain must be onboarded to Cloudflare's email sending. */
  from: string;
  to: string[];
}

export interface ChannelSettings {
  name: ChannelName;
  /** The webhook URL; it carries the channel's token, so it is never logged. `mailto:` for email. */
  url: string;
  /** DingTalk signing secret ("加签"); null for the other channels. */
  secret: string | null;
  language: AlertLanguage;
  /** DingTalk only: phone numbers to @-mention on every message. */
  atMobiles: string[];
  /** Email only: sender and recipients (sent through the `EMAIL` send_email binding). */
  email?: EmailSettings;
  /** Slack only: the app's interactivity is configured, so messages carry action buttons. */
  interactive?: boolean;
}

/** Slack interactivity (the buttons): the app's signing secret and which Slack users are which operators. */
export interface SlackAppSettings {
  signingSecret: string;
  /** Slack user id (U…/W…) → operator name, written to admin_actions as `slack:<name>`. */
  operators: ReadonlyMap<string, string>;
}

export interface AlertSettings {
  channels: ChannelSettings[];
  /** An open incident that nobody acknowledged or muted is posted again after this long. */
  reminderIntervalMs: number;
  /** Which channels get which severities, per incident kind (`ALERT_ROUTES`). */
  routes: AlertRoutes;
  /** null: Slack buttons are not offered and the interactions route answers 404. */
  slackApp: SlackAppSettings | null;
}

export const ALERT_REMINDER_MINUTES_DEFAULT = 60;
const ALERT_REMINDER_MINUTES_MIN = 5;
const DEFAULT_LANGUAGE: Record<ChannelName, AlertLanguage> = {
  slack: "en",
  dingtalk: "zh",
  wecom: "zh",
  email: "en",
};
const EMAIL_PATTERN = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const SLACK_USER_PATTERN = /^[UW][A-Z0-9]{2,31}$/;
const OPERATOR_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

type RawEnv = Record<string, unknown>;

const text = (env: RawEnv, name: string): string => {
  const value = env[name];
  return typeof value === "string" ? value.trim() : "";
};

const list = (value: string): string[] =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

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

/**
 * ALERT_EMAIL_TO turns the email channel on; it then needs ALERT_EMAIL_FROM. The EMAIL binding is not
 * checked here (this also runs in Node, for `npm run deploy:check`): without it the channel shows
 * `config_error` in /health at its first message.
 */
function emailSettings(env: RawEnv, problems: string[]): EmailSettings | null {
  const to = list(text(env, "ALERT_EMAIL_TO"));
  if (to.length === 0) return null;
  const from = text(env, "ALERT_EMAIL_FROM");
  const wrong = to.filter((address) => !EMAIL_PATTERN.test(address));
  if (wrong.length > 0) problems.push(`ALERT_EMAIL_TO has invalid address(es): ${wrong.join(", ")}`);
  if (!from) problems.push("ALERT_EMAIL_FROM is missing (ALERT_EMAIL_TO is set)");
  else if (!EMAIL_PATTERN.test(from))
    problems.push("ALERT_EMAIL_FROM must be an address like alerts@example.com");
  return { from, to };
}

function slackApp(env: RawEnv, problems: string[]): SlackAppSettings | null {
  const signingSecret = text(env, "SLACK_SIGNING_SECRET");
  const raw = text(env, "SLACK_OPERATORS");
  const operators = new Map<string, string>();
  for (const pair of list(raw)) {
    const [user = "", name = ""] = pair.split(":").map((part) => part.trim());
    if (!SLACK_USER_PATTERN.test(user) || !OPERATOR_NAME_PATTERN.test(name)) {
      problems.push("SLACK_OPERATORS must be <Slack user id>:<operator name> pairs separated by commas");
      return null;
    }
    operators.set(user, name);
  }
  if (!signingSecret) {
    if (operators.size > 0) problems.push("SLACK_SIGNING_SECRET is missing (SLACK_OPERATORS is set)");
    return null;
  }
  return { signingSecret, operators };
}

/** Pure: collects every problem by name; a channel without a URL (or recipients) is simply not configured. */
export function parseAlertSettings(env: RawEnv, problems: string[]): AlertSettings {
  const channels: ChannelSettings[] = [];
  const base = (name: ChannelName, url: string) => ({
    name,
    url,
    secret: null,
    language: language(env, name, problems),
    atMobiles: [],
  });
  const app = slackApp(env, problems);
  const slack = webhookUrl(env, "SLACK_WEBHOOK_URL", problems);
  if (slack) channels.push({ ...base("slack", slack), interactive: app !== null });
  const dingtalk = webhookUrl(env, "DINGTALK_WEBHOOK_URL", problems);
  if (dingtalk) {
    const secret = text(env, "DINGTALK_SECRET");
    if (!secret) problems.push("DINGTALK_SECRET is missing (DINGTALK_WEBHOOK_URL is set)");
    const atMobiles = list(text(env, "DINGTALK_AT_MOBILES"));
    channels.push({ ...base("dingtalk", dingtalk), secret, atMobiles });
  }
  const wecom = webhookUrl(env, "WECOM_WEBHOOK_URL", problems);
  if (wecom) channels.push(base("wecom", wecom));
  const email = emailSettings(env, problems);
  if (email) channels.push({ ...base("email", `mailto:${email.to.join(",")}`), email });
  return {
    channels,
    reminderIntervalMs: reminderIntervalMs(env, problems),
    routes: parseAlertRoutes(text(env, "ALERT_ROUTES"), problems) ?? EVERYWHERE,
    slackApp: app,
  };
}
