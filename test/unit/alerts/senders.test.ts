// The senders against the sandbox receivers over HTTP: DingTalk's signature passes the receiver's
// independent check (base64 handed raw to URLSearchParams, encoded once), DingTalk's ActionCard and WeCom's
// template card pass the receivers' checks, and each channel's refusals map to retry (with the channel's
// own wait) or a configuration error.
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
import { type Composed, compose } from "../../../src/alerts/compose.ts";
import { MARKDOWN } from "../../../src/alerts/message.ts";
import type { Notice } from "../../../src/alerts/notice.ts";
import type { ChannelSettings } from "../../../src/alerts/settings.ts";

let sandbox: Sandbox;
let robot: { robot: string; slackUrl: string; dingtalkUrl: string; dingtalkSecret: string; wecomUrl: string };
const NO_IO = { email: null };
const SENDERS = { slack: slackSender, dingtalk: dingtalkSender, wecom: wecomSender };

const control = async (path: string, body: unknown) =>
  (await fetch(`${sandbox.url}/_control/${path}`, { method: "POST", body: JSON.stringify(body) })).json();

const post: Composed = {
  title: "payguard test",
  lines: ["**payguard** test"],
  taken: 0,
  notices: [],
  digest: false,
  language: "zh",
  publicBaseUrl: "https://pay.example.com",
  atMs: 0,
};
const incident: Notice = {
  key: "unknown_order:stripe:evt_1",
  kind: "unknown_order",
  severity: "critical",
  summary: "payment matches no order",
  detail: { order_id: "ord_1", amount_minor: 1999, currency: "USD" },
  event: "opened",
  atMs: 0,
  openedAtMs: 0,
  fires: 1,
};
const single = compose([incident], "zh", "https://pay.example.com", MARKDOWN, {
  maxBytes: 4_000,
  itemsMax: 100,
});
const channel = (
  name: "slack" | "dingtalk" | "wecom",
  url: string,
  secret: string | null = null,
  atMobiles = name === "dingtalk" ? ["13800000000"] : [],
): ChannelSettings => ({ name, url, secret, language: "en", atMobiles });
const send = (settings: ChannelSettings, composed: Composed = post) => {
  const sender = SENDERS[settings.name as keyof typeof SENDERS];
  return sender.send(settings, sender.payload(composed, settings), NO_IO);
};
const log = async (name: string) =>
  (await (await fetch(`${sandbox.url}/_control/alerts?robot=${name}`)).json()) as {
    alerts: Array<{ accepted: boolean; errcode?: number; payload: Record<string, unknown> }>;
  };

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
    const first = (await log(robot.robot)).alerts[0]?.payload as { markdown: { text: string } };
    expect(first.markdown.text).toContain("@13800000000");
  });
});

describe("cards", () => {
  it("sends an incident to DingTalk as an ActionCard with its page, or as markdown when people are @-mentioned", async () => {
    robot = await control("alerts/robots", {});
    expect(await send(channel("dingtalk", robot.dingtalkUrl, robot.dingtalkSecret, []), single)).toEqual({
      kind: "sent",
    });
    expect(await send(channel("dingtalk", robot.dingtalkUrl, robot.dingtalkSecret), single)).toEqual({
      kind: "sent",
    });
    const [card, mentioned] = (await log(robot.robot)).alerts;
    expect(card).toMatchObject({
      accepted: true,
      payload: {
        msgtype: "actionCard",
        actionCard: {
          singleTitle: "在控制台查看",
          singleURL: "https://pay.example.com/admin/incidents/unknown_order%3Astripe%3Aevt_1",
        },
      },
    });
    expect(mentioned).toMatchObject({
      accepted: true,
      payload: { msgtype: "markdown", at: { atMobiles: ["13800000000"] } },
    });
  });

  it("sends an incident to WeCom as a text_notice template card the receiver accepts", async () => {
    robot = await control("alerts/robots", {});
    expect(await send(channel("wecom", robot.wecomUrl), single)).toEqual({ kind: "sent" });
    const [card] = (await log(robot.robot)).alerts;
    expect(card).toMatchObject({
      accepted: true,
      errcode: 0,
      payload: {
        msgtype: "template_card",
        template_card: {
          card_type: "text_notice",
          card_action: {
            type: 1,
            url: "https://pay.example.com/admin/incidents/unknown_order%3Astripe%3Aevt_1",
          },
        },
      },
    });
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
