// Alert settings: each channel optional, a language per channel, DingTalk needs its secret, email needs its
// sender, Slack's buttons need the app's signing secret and a user → operator map.
import { describe, expect, it } from "vitest";
import { EVERYWHERE } from "../../../src/alerts/routes.ts";
import { parseAlertSettings } from "../../../src/alerts/settings.ts";

describe("alert settings", () => {
  it("has no channels (alerts off) when none is configured, routes everywhere, and no Slack buttons", () => {
    const problems: string[] = [];
    expect(parseAlertSettings({}, problems)).toEqual({
      channels: [],
      reminderIntervalMs: 3_600_000,
      routes: EVERYWHERE,
      slackApp: null,
    });
    expect(problems).toEqual([]);
  });

  it("parses each channel with its language, DingTalk's secret and @mobiles, email and the reminder interval", () => {
    const problems: string[] = [];
    const settings = parseAlertSettings(
      {
        SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x",
        ALERT_LANGUAGE_SLACK: "zh",
        DINGTALK_WEBHOOK_URL: "https://oapi.dingtalk.com/robot/send?access_token=t",
        DINGTALK_SECRET: "SECs",
        DINGTALK_AT_MOBILES: "13800000000, 13900000000",
        WECOM_WEBHOOK_URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        ALERT_EMAIL_TO: "ops@example.com, oncall@example.com",
        ALERT_EMAIL_FROM: "payguard@alerts.example.com",
        ALERT_LANGUAGE_EMAIL: "zh",
        ALERT_REMINDER_MINUTES: "30",
      },
      problems,
    );
    expect(problems).toEqual([]);
    expect(settings.reminderIntervalMs).toBe(30 * 60_000);
    expect(settings.channels.map((channel) => [channel.name, channel.language])).toEqual([
      ["slack", "zh"],
      ["dingtalk", "zh"],
      ["wecom", "zh"],
      ["email", "zh"],
    ]);
    expect(settings.channels[1]).toMatchObject({ secret: "SECs", atMobiles: ["13800000000", "13900000000"] });
    expect(settings.channels[3]?.email).toEqual({
      from: "payguard@alerts.example.com",
      to: ["ops@example.com", "oncall@example.com"],
    });
    expect(settings.channels[0]?.interactive).toBe(false);
  });

  it("turns Slack buttons on with the signing secret, mapping Slack users to operator names", () => {
    const problems: string[] = [];
    const settings = parseAlertSettings(
      {
        SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x",
        SLACK_SIGNING_SECRET: "8f742231b10e8888abcd99yyyzzz85a5",
        SLACK_OPERATORS: "U012ABCDEF:alice, W0456GHIJK:bob",
      },
      problems,
    );
    expect(problems).toEqual([]);
    expect(settings.channels[0]?.interactive).toBe(true);
    expect(settings.slackApp?.signingSecret).toBe("8f742231b10e8888abcd99yyyzzz85a5");
    expect([...(settings.slackApp?.operators ?? [])]).toEqual([
      ["U012ABCDEF", "alice"],
      ["W0456GHIJK", "bob"],
    ]);
  });

  it("names every problem", () => {
    const problems: string[] = [];
    parseAlertSettings(
      {
        DINGTALK_WEBHOOK_URL: "https://x",
        WECOM_WEBHOOK_URL: "https://w.example.com",
        ALERT_LANGUAGE_WECOM: "fr",
        SLACK_WEBHOOK_URL: "not a url",
        ALERT_REMINDER_MINUTES: "1",
        ALERT_EMAIL_TO: "ops@example.com, not-an-address",
        SLACK_OPERATORS: "U012ABCDEF:alice",
        ALERT_ROUTES: "unknown_order:loud=slack",
      },
      problems,
    );
    expect(problems).toEqual([
      "SLACK_SIGNING_SECRET is missing (SLACK_OPERATORS is set)",
      "SLACK_WEBHOOK_URL is not a valid URL",
      "DINGTALK_SECRET is missing (DINGTALK_WEBHOOK_URL is set)",
      "ALERT_LANGUAGE_WECOM must be en or zh",
      "ALERT_EMAIL_TO has invalid address(es): not-an-address",
      "ALERT_EMAIL_FROM is missing (ALERT_EMAIL_TO is set)",
      "ALERT_REMINDER_MINUTES must be a whole number ≥ 5",
      'ALERT_ROUTES rule "unknown_order:loud=slack": severity must be critical, warning, info or *',
    ]);
  });

  it("refuses a malformed operator map", () => {
    const problems: string[] = [];
    parseAlertSettings({ SLACK_SIGNING_SECRET: "s", SLACK_OPERATORS: "alice" }, problems);
    expect(problems).toEqual([
      "SLACK_OPERATORS must be <Slack user id>:<operator name> pairs separated by commas",
    ]);
  });
});
