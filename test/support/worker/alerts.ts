/**
 * Alert-side helpers for integration tests: a fresh set of sandbox receivers (a "robot") per test, a desk
 * pointed at it, and what the receivers got.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AlertDesk } from "../../../src/alerts/alert-desk.ts";
import type { AlertSettings, ChannelSettings } from "../../../src/alerts/settings.ts";
import { sandbox } from "./harness.ts";

export interface Robot {
  robot: string;
  slackUrl: string;
  dingtalkUrl: string;
  dingtalkSecret: string;
  wecomUrl: string;
}

export interface Received {
  channel: "slack" | "dingtalk" | "wecom";
  accepted: boolean;
  status: number;
  errcode?: number;
  payload: unknown;
}

export const newRobot = () => sandbox<Robot>("alerts/robots", {});

export function robotChannels(
  robot: Robot,
  override: Partial<Record<string, Partial<ChannelSettings>>> = {},
) {
  const channels: ChannelSettings[] = [
    { name: "slack", url: robot.slackUrl, secret: null, language: "en", atMobiles: [] },
    { name: "dingtalk", url: robot.dingtalkUrl, secret: robot.dingtalkSecret, language: "zh", atMobiles: [] },
    { name: "wecom", url: robot.wecomUrl, secret: null, language: "zh", atMobiles: [] },
  ];
  return channels.map((channel) => ({ ...channel, ...override[channel.name] }));
}

export async function received(robot: Robot): Promise<Received[]> {
  return (await sandbox<{ alerts: Received[] }>(`alerts?robot=${robot.robot}`)).alerts;
}

export const setRobotMode = (robot: Robot, mode: { down?: boolean; faults?: unknown[] }) =>
  sandbox("alerts/mode", { robot: robot.robot, ...mode });

export const deskNamed = (name: string) => env.ALERT_DESK.get(env.ALERT_DESK.idFromName(name));

/** Points a desk instance at the given settings (lost when the instance restarts: set it again then). */
export function configureDesk(stub: DurableObjectStub<AlertDesk>, settings: AlertSettings): Promise<void> {
  return runInDurableObject(stub, (desk: AlertDesk) => {
    desk.settings = settings;
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

export const acceptedOn = (log: Received[], channel: Received["channel"]) =>
  log.filter((entry) => entry.channel === channel && entry.accepted);
