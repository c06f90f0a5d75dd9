// The alert receivers answer like Slack, DingTalk and WeCom, including their refusals, and keep what
// they received for `GET /_control/alerts`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { dingtalkSign } from "./dingtalk.ts";

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
