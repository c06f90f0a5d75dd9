// Alert settings: each channel optional, a language per channel, DingTalk needs its secret.
import { describe, expect, it } from "vitest";
import { parseAlertSettings } from "../../../src/alerts/settings.ts";

describe("alert settings", () => {
  it("has no channels (alerts off) when none is configured", () => {
    const problems: string[] = [];
    expect(parseAlertSettings({}, problems)).toEqual({ channels: [], reminderIntervalMs: 3_600_000 });
    expect(problems).toEqual([]);
  });

  it("parses each channel with its language, DingTalk's secret and @mobiles, and the reminder interval", () => {
    const problems: string[] = [];
    const settings = parseAlertSettings(
      {
        SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/x",
        ALERT_LANGUAGE_SLACK: "zh",
        DINGTALK_WEBHOOK_URL: "https://oapi.dingtalk.com/robot/send?access_token=t",
        DINGTALK_SECRET: "SECs",
        DINGTALK_AT_MOBILES: "13800000000, 13900000000",
        WECOM_WEBHOOK_URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
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
    ]);
    expect(settings.channels[1]).toMatchObject({ secret: "SECs", atMobiles: ["13800000000", "13900000000"] });
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
      },
      problems,
    );
    expect(problems).toEqual([
      "SLACK_WEBHOOK_URL is not a valid URL",
      "DINGTALK_SECRET is missing (DINGTALK_WEBHOOK_URL is set)",
      "ALERT_LANGUAGE_WECOM must be en or zh",
      "ALERT_REMINDER_MINUTES must be a whole number ≥ 5",
    ]);
  });
});
