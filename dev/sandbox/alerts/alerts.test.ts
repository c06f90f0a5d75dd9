// The alert receivers answer like Slack, DingTalk and WeCom, including their refusals, and keep what
// they received for `GET /_control/alerts`; the sandbox's Slack app clicks buttons on received messages,
// signed as Slack signs, and takes `response_url` updates; emails the local send_email simulation wrote
// show up for the robot they were addressed to.
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { dingtalkSign } from "./dingtalk.ts";
import { SANDBOX_SLACK_USER } from "./slack-app.ts";

let sandbox: Sandbox;

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** The DingTalk URL as a correct client builds it: raw base64 sign handed to URLSearchParams once. */
function dingtalkUrl(
  timestampMs: number,
  sign = dingtalkSign(sandbox.alerts.dingtalkSecret, timestampMs),
): string {
  const url = new URL(sandbox.alerts.dingtalkUrl);
  url.searchParams.set("timestamp", String(timestampMs));
  url.searchParams.set("sign", sign);
  return url.toString();
}

const markdown = { msgtype: "markdown", markdown: { title: "payguard", text: "#### order needs review" } };

async function received() {
  const response = await fetch(`${sandbox.url}/_control/alerts`);
  return ((await response.json()) as { alerts: Array<Record<string, unknown>> }).alerts;
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 41 });
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await fetch(`${sandbox.url}/_control/reset`, { method: "POST" });
});

describe("Slack incoming webhook", () => {
  it("accepts {text, blocks} with 200 ok as plain text and keeps the message", async () => {
    const message = {
      text: "order ord_1 needs review",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*review*" } }],
    };
    const response = await post(sandbox.alerts.slackUrl, message);
    expect([response.status, response.headers.get("content-type"), await response.text()]).toEqual([
      200,
      "text/plain; charset=utf-8",
      "ok",
    ]);
    expect(await received()).toEqual([
      expect.objectContaining({ channel: "slack", accepted: true, payload: message }),
    ]);
  });

  it("refuses a message without text with 400 invalid_payload, and an unknown token with 404", async () => {
    const noText = await post(sandbox.alerts.slackUrl, { blocks: [] });
    expect([noText.status, await noText.text()]).toEqual([400, "invalid_payload"]);
    const wrongToken = await post(`${sandbox.url}/alerts/slack/not-the-token`, { text: "x" });
    expect([wrongToken.status, await wrongToken.text()]).toEqual([404, "no_service"]);
    expect((await received()).map((alert) => alert.accepted)).toEqual([false, false]);
  });
});

describe("DingTalk robot", () => {
  it("accepts a correctly signed message with errcode 0", async () => {
    const response = await post(dingtalkUrl(Date.now()), markdown);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ errcode: 0, errmsg: "ok" });
    expect(await received()).toEqual([
      expect.objectContaining({ channel: "dingtalk", accepted: true, errcode: 0 }),
    ]);
  });

  it("rejects a bad sign with 310000, HTTP 200 as DingTalk does", async () => {
    const nowMs = Date.now();
    const wrongSecret = dingtalkSign("SECnot-the-secret", nowMs);
    const response = await post(dingtalkUrl(nowMs, wrongSecret), markdown);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ errcode: 310000, errmsg: "sign not match" });
  });

  it("rejects a sign URL-encoded twice (the classic bug) and a timestamp over an hour old", async () => {
    const nowMs = Date.now();
    const doubleEncoded = encodeURIComponent(dingtalkSign(sandbox.alerts.dingtalkSecret, nowMs));
    expect(await (await post(dingtalkUrl(nowMs, doubleEncoded), markdown)).json()).toMatchObject({
      errcode: 310000,
    });
    const staleMs = nowMs - 61 * 60 * 1000;
    expect(await (await post(dingtalkUrl(staleMs), markdown)).json()).toMatchObject({ errcode: 310000 });
  });

  it("throttles a robot that sends more than 20 messages a minute with 130101", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 22; i += 1) {
      const answer = (await (await post(dingtalkUrl(Date.now()), markdown)).json()) as { errcode: number };
      codes.push(answer.errcode);
    }
    expect(codes).toEqual([...Array(20).fill(0), 130101, 130101]);
  });
});

describe("WeCom robot", () => {
  const url = () => sandbox.alerts.wecomUrl;

  it("accepts markdown with errcode 0", async () => {
    const response = await post(url(), {
      msgtype: "markdown",
      markdown: { content: "**order** needs review" },
    });
    expect(await response.json()).toEqual({ errcode: 0, errmsg: "ok" });
  });

  it("refuses a wrong key with 93000 and markdown over 4096 bytes with 40058", async () => {
    const wrongKey = `${sandbox.url}/alerts/wecom/cgi-bin/webhook/send?key=00000000-0000-0000-0000-000000000000`;
    expect(await (await post(wrongKey, { msgtype: "text", text: { content: "x" } })).json()).toMatchObject({
      errcode: 93000,
    });
    // 1366 three-byte characters: under 4096 characters, over 4096 bytes.
    const tooLong = { msgtype: "markdown", markdown: { content: "警".repeat(1366) } };
    expect(await (await post(url(), tooLong)).json()).toMatchObject({ errcode: 40058 });
    const atLimit = { msgtype: "markdown", markdown: { content: "a".repeat(4096) } };
    expect(await (await post(url(), atLimit)).json()).toMatchObject({ errcode: 0 });
  });
});

describe("robots: independent receiver sets with faults", () => {
  const control = async (path: string, body: unknown) =>
    (await post(`${sandbox.url}/_control/${path}`, body)).json() as Promise<Record<string, string>>;
  const log = async (robot: string) =>
    (await (await fetch(`${sandbox.url}/_control/alerts?robot=${robot}`)).json()) as {
      alerts: Array<{ accepted: boolean; status: number }>;
      counts: Record<string, { accepted: number; refused: number }>;
    };

  it("gives each robot its own tokens, throttle window and log, with counts per channel", async () => {
    const first = await control("alerts/robots", {});
    const second = await control("alerts/robots", {});
    expect(first.dingtalkSecret).not.toBe(second.dingtalkSecret);
    const text = { msgtype: "markdown", markdown: { content: "x" } };
    for (let i = 0; i < 20; i += 1) await post(first.wecomUrl as string, text);
    expect(await (await post(first.wecomUrl as string, text)).json()).toMatchObject({ errcode: 45009 });
    expect(await (await post(second.wecomUrl as string, text)).json()).toMatchObject({ errcode: 0 });
    expect((await log(first.robot as string)).counts.wecom).toEqual({ accepted: 20, refused: 1 });
    expect((await log(second.robot as string)).counts.wecom).toEqual({ accepted: 1, refused: 0 });
  });

  it("answers 503 on every channel while down, and configured refusals for the next N messages", async () => {
    const robot = await control("alerts/robots", {});
    await control("alerts/mode", { robot: robot.robot, down: true });
    expect((await post(robot.slackUrl as string, { text: "x" })).status).toBe(503);
    await control("alerts/mode", {
      robot: robot.robot,
      down: false,
      faults: [{ channel: "slack", status: 429, retryAfterS: 3, count: 1 }],
    });
    const limited = await post(robot.slackUrl as string, { text: "x" });
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "3"]);
    expect((await post(robot.slackUrl as string, { text: "x" })).status).toBe(200);
    expect((await log(robot.robot as string)).alerts.map((alert) => alert.status)).toEqual([503, 429, 200]);
  });
});

describe("cards", () => {
  it("DingTalk accepts an ActionCard with a button URL and refuses one without", async () => {
    const card = {
      title: "payguard",
      text: "#### 新告警",
      singleTitle: "在控制台查看",
      singleURL: "https://x/1",
    };
    const ok = await post(dingtalkUrl(Date.now()), { msgtype: "actionCard", actionCard: card });
    expect(await ok.json()).toEqual({ errcode: 0, errmsg: "ok" });
    const noButton = { msgtype: "actionCard", actionCard: { title: "payguard", text: "x" } };
    expect(await (await post(dingtalkUrl(Date.now()), noButton)).json()).toMatchObject({ errcode: 40035 });
  });

  it("WeCom accepts a text_notice template card and refuses one without its card action", async () => {
    const card = {
      card_type: "text_notice",
      main_title: { title: "🔴 严重 · 新告警" },
      horizontal_content_list: [{ keyname: "影响", value: "订单 1" }],
      jump_list: [{ type: 1, title: "在控制台查看", url: "https://x/1" }],
      card_action: { type: 1, url: "https://x/1" },
    };
    const url = sandbox.alerts.wecomUrl;
    expect(await (await post(url, { msgtype: "template_card", template_card: card })).json()).toMatchObject({
      errcode: 0,
    });
    const { card_action: _dropped, ...noAction } = card;
    expect(
      await (await post(url, { msgtype: "template_card", template_card: noAction })).json(),
    ).toMatchObject({
      errcode: 40035,
    });
  });
});

describe("the Slack app: button clicks", () => {
  const message = {
    text: "New: payment matches no order",
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: "*New*" } },
      {
        type: "actions",
        block_id: "i:0:unknown_order:evt_1",
        elements: [
          {
            type: "button",
            action_id: "payguard:acknowledge",
            value: "acknowledge",
            text: { type: "plain_text", text: "Ack" },
          },
          {
            type: "button",
            action_id: "payguard:open",
            url: "https://x/1",
            text: { type: "plain_text", text: "Open" },
          },
        ],
      },
    ],
  };
  const click = async (body: Record<string, unknown>) =>
    (await post(`${sandbox.url}/_control/alerts/slack/click`, body)).json() as Promise<{
      delivery: { url: string; headers: Record<string, string>; body: string };
      responseUrl: string;
      payload: Record<string, unknown>;
    }>;

  it("builds the block_actions payload Slack sends for a click, signed with the app's signing secret", async () => {
    await post(sandbox.alerts.slackUrl, message);
    const clicked = await click({ action: "acknowledge", key: "unknown_order:evt_1" });
    const { headers, body } = clicked.delivery;
    const ts = headers["x-slack-request-timestamp"];
    const expected = createHmac("sha256", sandbox.alerts.slackSigningSecret)
      .update(`v0:${ts}:${body}`)
      .digest("hex");
    expect(headers["x-slack-signature"]).toBe(`v0=${expected}`);
    expect(headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const payload = JSON.parse(new URLSearchParams(body).get("payload") ?? "{}");
    expect(payload).toMatchObject({
      type: "block_actions",
      user: { id: SANDBOX_SLACK_USER.id },
      response_url: clicked.responseUrl,
      message: { blocks: message.blocks },
      actions: [
        { action_id: "payguard:acknowledge", value: "acknowledge", block_id: "i:0:unknown_order:evt_1" },
      ],
    });
    expect((await post(`${sandbox.url}/_control/alerts/slack/click`, { action: "refund" })).status).toBe(404);
  });

  it("sends the click to the app's interactivity URL when it has one", async () => {
    const seen: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
    const app = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        seen.push({ headers: request.headers, body });
        response.end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const interactive = await startSandbox({
      seed: 5,
      slackInteractivityUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/slack/interactions`,
    });
    try {
      await post(interactive.alerts.slackUrl, message);
      const answer = await post(`${interactive.url}/_control/alerts/slack/click`, { action: "acknowledge" });
      expect(await answer.json()).toMatchObject({ status: 200 });
      expect(seen).toHaveLength(1);
      expect(seen[0]?.headers["x-slack-signature"]).toMatch(/^v0=[0-9a-f]{64}$/);
    } finally {
      await interactive.close();
      app.close();
    }
  });

  it("takes response_url messages like Slack: replace_original updates the message, 5 uses, 30 minutes", async () => {
    await post(sandbox.alerts.slackUrl, message);
    const { responseUrl } = await click({ action: "acknowledge" });
    const update = {
      replace_original: true,
      text: message.text,
      blocks: [{ type: "context", elements: [] }],
    };
    expect((await post(responseUrl, update)).status).toBe(200);
    const alerts = await received();
    expect(alerts.at(-1)).toMatchObject({ channel: "slack", kind: "response", accepted: true });
    expect(alerts.find((alert) => alert.kind !== "response")?.current).toEqual({
      text: message.text,
      blocks: update.blocks,
    });
    for (let use = 2; use <= 5; use += 1)
      expect((await post(responseUrl, { text: "again" })).status).toBe(200);
    expect((await post(responseUrl, { text: "sixth" })).status).toBe(404);
    await post(sandbox.alerts.slackUrl, message); // the updated message has no button left to click
    const later = await click({ action: "acknowledge" });
    await post(`${sandbox.url}/_control/clock`, { advanceMs: 31 * 60_000 });
    expect((await post(later.responseUrl, { text: "late" })).status).toBe(404);
  });
});

describe("emails from the local send_email simulation", () => {
  it("shows an .eml Miniflare wrote as an email to the robot it is addressed to", async () => {
    const robot = (await (await post(`${sandbox.url}/_control/alerts/robots`, {})).json()) as {
      robot: string;
      emailTo: string;
    };
    const dir = join(tmpdir(), `miniflare-${randomBytes(8).toString("hex")}`, "email", "email");
    mkdirSync(dir, { recursive: true });
    try {
      const raw = [
        "From: payguard <alerts@payguard.test>",
        `To: ${robot.emailTo}`,
        "Subject: =?UTF-8?B?W+S4pemHjV0g5paw5ZGK6K2m?=",
        "Message-ID: <1@payguard.test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "hello",
      ].join("\r\n");
      writeFileSync(join(dir, "1@payguard.test.eml"), raw);
      const log = (await (await fetch(`${sandbox.url}/_control/alerts?robot=${robot.robot}`)).json()) as {
        alerts: Array<{ channel: string; payload: { subject: string; text: string } }>;
        counts: Record<string, { accepted: number }>;
      };
      expect(log.alerts).toEqual([
        expect.objectContaining({
          channel: "email",
          payload: expect.objectContaining({ subject: "[严重] 新告警", text: "hello" }),
        }),
      ]);
      expect(log.counts.email).toEqual({ accepted: 1, refused: 0 });
    } finally {
      rmSync(join(dir, "..", ".."), { recursive: true, force: true });
    }
  });
});
