// The three senders against the sandbox receivers over HTTP: DingTalk's signature passes the receiver's
// independent check (base64 handed raw to URLSearchParams, encoded once), and each channel's refusals map
// to retry (with the channel's own wait) or a configuration error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dingtalkSign as receiverSign } from "../../../dev/sandbox/alerts/dingtalk.ts";
import { type Sandbox, startSandbox } from "../../../dev/sandbox/index.ts";
import {
  DINGTALK_THROTTLE_MS,
  dingtalkSender,
  dingtalkSign,
  dingtalkSignedUrl,
} from "../../../src/alerts/channels/dingtalk.ts";
import { slackSender } from "../../../src/alerts/channels/slack.ts";
import { wecomSender } from "../../../src/alerts/channels/wecom.ts";
import type { ChannelSettings } from "../../../src/alerts/settings.ts";

let sandbox: Sandbox;
let robot: { robot: string; slackUrl: string; dingtalkUrl: string; dingtalkSecret: string; wecomUrl: string };

const control = async (path: string, body: unknown) =>
  (await fetch(`${sandbox.url}/_control/${path}`, { method: "POST", body: JSON.stringify(body) })).json();

const composed = { title: "payguard test", lines: ["**payguard** test"], taken: 1 };
const channel = (
  name: ChannelSettings["name"],
  url: string,
  secret: string | null = null,
): ChannelSettings => ({
  name,
  url,
  secret,
  language: "en",
  atMobiles: name === "dingtalk" ? ["13800000000"] : [],
});
const send = (settings: ChannelSettings) =>
  ({ slack: slackSender, dingtalk: dingtalkSender, wecom: wecomSender })[settings.name].send(
    settings,
    { slack: slackSender, dingtalk: dingtalkSender, wecom: wecomSender }[settings.name].payload(
      composed,
      settings,
    ),
  );

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 12 });
});
afterAll(() => sandbox.close());

describe("DingTalk signing", () => {
  it("computes the same sign as the receiver and puts it in the URL encoded exactly once", async () => {
    const secret = "SECabc+/=";
    const at = 1_795_000_000_000;
    expect(await dingtalkSign(secret, at)).toBe(receiverSign(secret, at));
    const url = new URL(
      await dingtalkSignedUrl("https://oapi.dingtalk.com/robot/send?access_token=t", secret, at),
    );
    expect(url.searchParams.get("sign")).toBe(receiverSign(secret, at));
    expect(url.searchParams.get("timestamp")).toBe(String(at));
  });

  it("is accepted by the receiver, with @mobiles in the text; a wrong secret is a configuration error", async () => {
    robot = await control("alerts/robots", {});
    expect(await send(channel("dingtalk", robot.dingtalkUrl, robot.dingtalkSecret))).toEqual({
      kind: "sent",
    });
    const wrong = await send(channel("dingtalk", robot.dingtalkUrl, "SECwrong"));
    expect(wrong).toMatchObject({ kind: "config", reason: expect.stringContaining("310000") });
    const log = (await (await fetch(`${sandbox.url}/_control/alerts?robot=${robot.robot}`)).json()) as {
      alerts: Array<{ payload: { markdown: { text: string } } }>;
    };
    expect(log.alerts[0]?.payload.markdown.text).toContain("@13800000000");
  });
});

describe("refusals", () => {
  it("honours Slack 429 Retry-After, and treats a revoked webhook (4xx) as a configuration error", async () => {
    robot = await control("alerts/robots", {});
    await control("alerts/mode", {
      robot: robot.robot,
      faults: [{ channel: "slack", status: 429, retryAfterS: 7, count: 1 }],
    });
    expect(await send(channel("slack", robot.slackUrl))).toEqual({
      kind: "retry",
      reason: "slack 429",
      afterMs: 7_000,
    });
    expect(await send(channel("slack", robot.slackUrl))).toEqual({ kind: "sent" });
    expect(await send(channel("slack", `${sandbox.url}/alerts/slack/revoked`))).toMatchObject({
      kind: "config",
    });
  });

  it("waits out DingTalk's 130101 throttle and WeCom's frequency limit; WeCom 93000 is a configuration error", async () => {
    robot = await control("alerts/robots", {});
    await control("alerts/mode", {
      robot: robot.robot,
      faults: [
        { channel: "dingtalk", errcode: 130101, count: 1 },
        { channel: "wecom", errcode: 45009, count: 1 },
      ],
    });
    expect(await send(channel("dingtalk", robot.dingtalkUrl, robot.dingtalkSecret))).toMatchObject({
      kind: "retry",
      afterMs: DINGTALK_THROTTLE_MS,
    });
    expect(await send(channel("wecom", robot.wecomUrl))).toMatchObject({ kind: "retry", afterMs: 60_000 });
    expect(await send(channel("wecom", robot.wecomUrl))).toEqual({ kind: "sent" });
    const wrongKey = `${sandbox.url}/alerts/wecom/cgi-bin/webhook/send?key=nope`;
    expect(await send(channel("wecom", wrongKey))).toMatchObject({
      kind: "config",
      reason: expect.stringContaining("93000"),
    });
  });

  it("treats a receiver that is down as transient", async () => {
    robot = await control("alerts/robots", {});
    await control("alerts/mode", { robot: robot.robot, down: true });
    expect(await send(channel("slack", robot.slackUrl))).toMatchObject({
      kind: "retry",
      reason: "slack 503",
    });
    expect(await send(channel("wecom", robot.wecomUrl))).toMatchObject({ kind: "retry", reason: "http 503" });
  });
});
