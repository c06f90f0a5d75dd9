/**
 * Alert-side helpers for integration tests: a fresh set of sandbox receivers (a "robot") per test, a desk
 * pointed at it, what the receivers got (Slack, DingTalk and WeCom over HTTP; email as the local
 * send_email simulation wrote it), and Slack button clicks signed by the sandbox's Slack app.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AlertDesk } from "../../../src/alerts/alert-desk.ts";
import type { AlertSettings, ChannelSettings } from "../../../src/alerts/settings.ts";
import worker from "../../../src/index.ts";
import { BASE_URL, sandbox } from "./harness.ts";

export interface Robot {
  robot: string;
  slackUrl: string;
  dingtalkUrl: string;
  dingtalkSecret: string;
  wecomUrl: string;
  emailTo: string;
}

export interface Received {
  channel: "slack" | "dingtalk" | "wecom" | "email";
  /** `response`: what payguard sent to a Slack `response_url`. */
  kind?: "message" | "response";
  accepted: boolean;
  status: number;
  errcode?: number;
  payload: unknown;
}

/** What the sandbox parsed out of an .eml the send_email binding wrote. */
export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export const ALERT_EMAIL_FROM = "payguard-alerts@payguard.test";
/** The local send_email simulation writes its file just after `send()` resolves: wait this long at most. */
const EMAIL_WAIT_MS = 15_000;
const EMAIL_POLL_MS = 100;

export const newRobot = () => sandbox<Robot>("alerts/robots", {});

export function robotChannels(
  robot: Robot,
  override: Partial<Record<string, Partial<ChannelSettings>>> = {},
) {
  const channels: ChannelSettings[] = [
    { name: "slack", url: robot.slackUrl, secret: null, language: "en", atMobiles: [], interactive: true },
    { name: "dingtalk", url: robot.dingtalkUrl, secret: robot.dingtalkSecret, language: "zh", atMobiles: [] },
    { name: "wecom", url: robot.wecomUrl, secret: null, language: "zh", atMobiles: [] },
    {
      name: "email",
      url: `mailto:${robot.emailTo}`,
      secret: null,
      language: "en",
      atMobiles: [],
      email: { from: ALERT_EMAIL_FROM, to: [robot.emailTo] },
    },
  ];
  return channels.map((channel) => ({ ...channel, ...override[channel.name] }));
}

export async function received(robot: Robot): Promise<Received[]> {
  return (await sandbox<{ alerts: Received[] }>(`alerts?robot=${robot.robot}`)).alerts;
}

/**
 * The robot's log once at least `count` emails (containing `about`, when given) reached it: the binding
 * writes each file just after `send()` resolved.
 */
export async function receivedWithEmails(robot: Robot, count: number, about = ""): Promise<Received[]> {
  const deadline = Date.now() + EMAIL_WAIT_MS;
  for (;;) {
    const log = await received(robot);
    const emails = acceptedOn(log, "email").filter((entry) => messageText(entry.payload).includes(about));
    if (emails.length >= count || Date.now() > deadline) return log;
    await new Promise((resolve) => setTimeout(resolve, EMAIL_POLL_MS));
  }
}

export const emailsIn = (log: Received[]): ReceivedEmail[] =>
  acceptedOn(log, "email").map((entry) => entry.payload as ReceivedEmail);

export const setRobotMode = (robot: Robot, mode: { down?: boolean; faults?: unknown[] }) =>
  sandbox("alerts/mode", { robot: robot.robot, ...mode });

export const deskNamed = (name: string) => env.ALERT_DESK.get(env.ALERT_DESK.idFromName(name));

/**
 * Points a desk instance at the given settings, over what it has (lost when the instance restarts: set it
 * again then). Routing rules and the Slack app stay the deployment's unless given.
 */
export function configureDesk(
  stub: DurableObjectStub<AlertDesk>,
  settings: Pick<AlertSettings, "channels" | "reminderIntervalMs"> & Partial<AlertSettings>,
): Promise<void> {
  return runInDurableObject(stub, (desk: AlertDesk) => {
    desk.settings = { ...desk.settings, ...settings };
  });
}

export const alarmAt = (stub: DurableObjectStub<AlertDesk>) =>
  runInDurableObject(stub, (_desk: AlertDesk, state) => state.storage.getAlarm());

export const clearAlarm = (stub: DurableObjectStub<AlertDesk>) =>
  runInDurableObject(stub, (_desk: AlertDesk, state) => state.storage.deleteAlarm());

/** The text a person reads, whatever the channel's payload shape. */
export function messageText(payload: unknown): string {
  return JSON.stringify(payload);
}

/** Messages a channel accepted (a Slack `response_url` update is not a new message). */
export const acceptedOn = (log: Received[], channel: Received["channel"]) =>
  log.filter((entry) => entry.channel === channel && entry.accepted && entry.kind !== "response");

export const slackResponses = (log: Received[]) => log.filter((entry) => entry.kind === "response");

export interface SignedInteraction {
  delivery: { url: string; headers: Record<string, string>; body: string };
  responseUrl: string;
}

/** The sandbox's Slack app clicks `action` on the robot's latest message that offers it (signed, not sent). */
export const slackClick = (
  robot: Robot,
  click: { action: string; key?: string; userId?: string; timestampS?: number; signingSecret?: string },
) => sandbox<SignedInteraction>("alerts/slack/click", { robot: robot.robot, deliver: false, ...click });

/**
 * Delivers a signed interaction to the worker's `/slack/interactions` and waits for what it does after
 * answering (the action and the message update run after Slack's 200).
 */
export async function deliverInteraction(
  interaction: SignedInteraction,
  headers: Record<string, string> = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE_URL}/slack/interactions`, {
    method: "POST",
    headers: { ...interaction.delivery.headers, ...headers },
    body: interaction.delivery.body,
  });
  const response = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}
