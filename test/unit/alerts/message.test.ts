// Pure alert text: impact from the incident detail, both languages, digest packing within a byte budget
// (most severe first, the rest left for the next message), and UTF-8 cuts between characters.
import { describe, expect, it } from "vitest";
import { SLACK_MARKUP } from "../../../src/alerts/channels/slack.ts";
import { WECOM_MARKDOWN_BYTES_MAX, wecomSender } from "../../../src/alerts/channels/wecom.ts";
import { byteLength, compose, cutUtf8 } from "../../../src/alerts/compose.ts";
import { impactLine, incidentUrl, MARKDOWN, noticeLines } from "../../../src/alerts/message.ts";
import { bySeverity, type Notice } from "../../../src/alerts/notice.ts";

const BASE = "https://pay.example.com";

const notice = (key: string, overrides: Partial<Notice> = {}): Notice => ({
  key,
  kind: "unknown_order",
  severity: "warning",
  summary: `payment for ${key} matches no order`,
  detail: { order_id: "ord_1", user_id: "u_1", amount_minor: 1999, currency: "usd" },
  event: "opened",
  atMs: 1_000,
  openedAtMs: 1_000,
  fires: 1,
  ...overrides,
});

describe("alert text", () => {
  it("says who and how much is affected, what to do and where to look, in English and Chinese", () => {
    const en = noticeLines(notice("k1"), "en", BASE, SLACK_MARKUP).join("\n");
    expect(en).toContain("Affected: orders 1 · users 1 · amount 19.99 USD");
    expect(en).toContain("What to do: Find the payment at the provider");
    expect(en).toContain(`<${BASE}/admin/incidents/k1|Open in dashboard>`);
    const zh = noticeLines(notice("k1"), "zh", BASE, MARKDOWN).join("\n");
    expect(zh).toContain("影响: 订单 1 · 用户 1 · 金额 19.99 USD");
    expect(zh).toContain(`[在控制台查看](${BASE}/admin/incidents/k1)`);
  });

  it("counts from the detail when the source gives totals, and says when nothing is known", () => {
    expect(
      impactLine({ orders_affected: 12, users_affected: 9, amount_minor: 500, currency: "JPY" }, "en"),
    ).toBe("Affected: orders 12 · users 9 · amount 500 JPY");
    expect(impactLine({}, "zh")).toBe("影响: 暂不明确");
  });

  it("reports how long a resolved incident lasted and how often it fired", () => {
    const resolved = notice("k2", { event: "resolved", atMs: 1_000 + 125 * 60_000, fires: 4 });
    expect(noticeLines(resolved, "en", BASE, MARKDOWN).join("\n")).toContain(
      "Lasted 2 h 5 min, fired 4 time(s).",
    );
    expect(noticeLines(resolved, "zh", BASE, MARKDOWN).join("\n")).toContain(
      "持续 2 小时 5 分钟，共触发 4 次。",
    );
  });

  it("escapes the key in the dashboard link", () => {
    expect(incidentUrl(BASE, "unknown_order:stripe/evt 1")).toBe(
      `${BASE}/admin/incidents/unknown_order%3Astripe%2Fevt%201`,
    );
  });
});

describe("digests", () => {
  const storm = Array.from({ length: 300 }, (_, i) =>
    notice(`storm-${i}`, { severity: i % 10 === 0 ? "critical" : "warning", atMs: i }),
  ).sort(bySeverity);

  it("packs as many incidents as fit, most severe first, and leaves the rest pending", () => {
    const composed = compose(storm, "zh", BASE, MARKDOWN, WECOM_MARKDOWN_BYTES_MAX);
    expect(composed.taken).toBeGreaterThan(10);
    expect(composed.taken).toBeLessThan(storm.length);
    expect(byteLength(composed.lines.join("\n"))).toBeLessThanOrEqual(WECOM_MARKDOWN_BYTES_MAX);
    const body = composed.lines.join("\n");
    expect(body.lastIndexOf("🔴")).toBeLessThan(body.indexOf("🟠"));
    expect(composed.lines[0]).toBe(`**payguard：${composed.taken} 条事件更新**`);
  });
});

describe("UTF-8 cuts", () => {
  it("never splits a character and stays within the byte limit", () => {
    expect(cutUtf8("警告警告", 7)).toBe("警告");
    expect(cutUtf8("a🔴b", 4)).toBe("a");
    expect(cutUtf8("abc", 3)).toBe("abc");
  });

  it("keeps a WeCom message of one long Chinese incident at most 4096 bytes", () => {
    const long = notice("k3", { summary: "订单金额不一致".repeat(400) });
    const composed = compose([long], "zh", BASE, MARKDOWN, WECOM_MARKDOWN_BYTES_MAX);
    const payload = wecomSender.payload(composed, {
      name: "wecom",
      url: "https://example.com",
      secret: null,
      language: "zh",
      atMobiles: [],
    }) as { markdown: { content: string } };
    expect(byteLength(payload.markdown.content)).toBeLessThanOrEqual(WECOM_MARKDOWN_BYTES_MAX);
    expect(payload.markdown.content).not.toContain("\uFFFD");
  });
});
