// Pure alert text: impact from the incident detail, titles and runbooks from the catalogue in the channel's
// language, text that is not ours escaped for each channel's markup, digest packing within a byte and an
// item budget (most severe first, the rest left for the next message), and UTF-8 cuts between characters.
import { describe, expect, it } from "vitest";
import { HTML_MARKUP } from "../../../src/alerts/channels/email.ts";
import { SLACK_MARKUP } from "../../../src/alerts/channels/slack.ts";
import { WECOM_MARKDOWN_BYTES_MAX, wecomSender } from "../../../src/alerts/channels/wecom.ts";
import { byteLength, compose, cutUtf8 } from "../../../src/alerts/compose.ts";
import {
  impactLine,
  incidentUrl,
  MARKDOWN,
  noticeLines,
  noticeTitle,
  PLAIN_TEXT,
} from "../../../src/alerts/message.ts";
import { bySeverity, type Notice } from "../../../src/alerts/notice.ts";
import { incidentKind } from "../../../src/incidents/catalogue.ts";

const BASE = "https://pay.example.com";
const WIDE = { maxBytes: 100_000, itemsMax: 1_000 };

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
    expect(en).toContain("What to do");
    expect(en).toContain(`<${BASE}/admin/incidents/k1|Open in dashboard>`);
    const zh = noticeLines(notice("k1"), "zh", BASE, MARKDOWN).join("\n");
    expect(zh).toContain("影响: 订单 1 · 用户 1 · 金额 19.99 USD");
    expect(zh).toContain(`[在控制台查看](${BASE}/admin/incidents/k1)`);
  });

  it("takes the title and every runbook step from the catalogue, in the channel's language only", () => {
    const opened = notice("k1");
    for (const language of ["en", "zh"] as const) {
      const lines = noticeLines(opened, language, BASE, PLAIN_TEXT).join("\n");
      expect(lines).toContain(noticeTitle(opened, language));
      for (const step of incidentKind(opened.kind).runbook[language]) expect(lines).toContain(step);
    }
    const zh = noticeLines(opened, "zh", BASE, PLAIN_TEXT).join("\n");
    for (const english of ["New", "Affected", "What to do", "Open in dashboard", "fired"])
      expect(zh).not.toContain(english);
    expect(zh).toContain("新告警");
  });

  it("counts from the detail when the source gives totals, and says when nothing is known", () => {
    expect(
      impactLine({ orders_affected: 12, users_affected: 9, amount_minor: 500, currency: "JPY" }, "en"),
    ).toBe("Affected: orders 12 · users 9 · amount 500 JPY");
    expect(impactLine({}, "zh")).toBe("影响: 暂不明确");
  });

  it("reports how long a resolved incident lasted and how often it fired, without a runbook", () => {
    const resolved = notice("k2", { event: "resolved", atMs: 1_000 + 125 * 60_000, fires: 4 });
    const en = noticeLines(resolved, "en", BASE, MARKDOWN).join("\n");
    expect(en).toContain("Lasted 2 h 5 min, fired 4 time(s).");
    expect(en).not.toContain("What to do");
    expect(noticeLines(resolved, "zh", BASE, MARKDOWN).join("\n")).toContain(
      "持续 2 小时 5 分钟，共触发 4 次。",
    );
  });

  it("encodes the key in the dashboard link, including what markdown links would break on", () => {
    expect(incidentUrl(BASE, "unknown_order:stripe/evt 1")).toBe(
      `${BASE}/admin/incidents/unknown_order%3Astripe%2Fevt%201`,
    );
    expect(incidentUrl(BASE, "a(b)!*'")).toBe(`${BASE}/admin/incidents/a%28b%29%21%2A%27`);
  });
});

describe("escaping text that is not ours", () => {
  // A kind without a catalogue template shows the stored summary, which a provider may have shaped.
  const hostile = notice("k&<x>", {
    kind: "some_future_kind",
    summary: "refund <!channel> & <https://evil.example|click> **now** [x](https://evil.example)",
  });

  it("Slack: & < > become &amp; &lt; &gt;, so no mention, link or markup comes from a provider", () => {
    const text = noticeLines(hostile, "en", BASE, SLACK_MARKUP).join("\n");
    expect(text).toContain("refund &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<https://evil.example");
    expect(text).toContain("(k&amp;&lt;x&gt;)");
  });

  it("DingTalk and WeCom markdown: markdown-significant characters are backslash-escaped", () => {
    const text = noticeLines(hostile, "zh", BASE, MARKDOWN).join("\n");
    expect(text).toContain("\\*\\*now\\*\\* \\[x\\]\\(https://evil.example\\)");
    expect(text).not.toContain("[x](https://evil.example)");
  });

  it("email HTML: the summary is HTML-escaped", () => {
    const text = noticeLines({ ...hostile, summary: '<script>alert("x")</script>' }, "en", BASE, HTML_MARKUP);
    expect(text.join("\n")).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(text.join("\n")).not.toContain("<script>");
  });
});

describe("digests", () => {
  const storm = Array.from({ length: 300 }, (_, i) =>
    notice(`storm-${i}`, { severity: i % 10 === 0 ? "critical" : "warning", atMs: i }),
  ).sort(bySeverity);

  it("packs as many incidents as fit, most severe first, and leaves the rest pending", () => {
    const composed = compose(storm, "zh", BASE, MARKDOWN, {
      maxBytes: WECOM_MARKDOWN_BYTES_MAX,
      itemsMax: 1_000,
    });
    expect(composed.digest).toBe(true);
    expect(composed.taken).toBeGreaterThan(10);
    expect(composed.taken).toBeLessThan(storm.length);
    expect(byteLength(composed.lines.join("\n"))).toBeLessThanOrEqual(WECOM_MARKDOWN_BYTES_MAX);
    const body = composed.lines.join("\n");
    expect(body.lastIndexOf("🔴")).toBeLessThan(body.indexOf("🟠"));
    expect(composed.lines[0]).toBe(`**payguard：${composed.taken} 条告警更新**`);
    expect(composed.notices.map((covered) => covered.key)).toEqual(
      storm.slice(0, composed.taken).map((n) => n.key),
    );
  });

  it("stops at the channel's item limit (Slack's blocks) even with bytes to spare", () => {
    const composed = compose(storm, "en", BASE, SLACK_MARKUP, { ...WIDE, itemsMax: 45 });
    expect(composed.taken).toBe(45);
  });
});

describe("UTF-8 cuts", () => {
  it("never splits a character and stays within the byte limit", () => {
    expect(cutUtf8("警告警告", 7)).toBe("警告");
    expect(cutUtf8("a🔴b", 4)).toBe("a");
    expect(cutUtf8("abc", 3)).toBe("abc");
  });

  it("keeps a WeCom digest of long Chinese incidents at most 4096 bytes, and a card's fields within WeCom's sizes", () => {
    const long = [0, 1].map((i) =>
      notice(`k${i}`, { kind: "some_future_kind", summary: "订单金额不一致".repeat(400) }),
    );
    const channel = {
      name: "wecom" as const,
      url: "https://example.com",
      secret: null,
      language: "zh" as const,
      atMobiles: [],
    };
    const digest = compose(long, "zh", BASE, MARKDOWN, {
      maxBytes: WECOM_MARKDOWN_BYTES_MAX,
      itemsMax: 1_000,
    });
    const markdown = wecomSender.payload(digest, channel) as { markdown: { content: string } };
    expect(byteLength(markdown.markdown.content)).toBeLessThanOrEqual(WECOM_MARKDOWN_BYTES_MAX);
    expect(markdown.markdown.content).not.toContain("\uFFFD");
    const single = compose([long[0] as Notice], "zh", BASE, MARKDOWN, WIDE);
    const card = (wecomSender.payload(single, channel) as { template_card: { sub_title_text: string } })
      .template_card;
    expect([...card.sub_title_text].length).toBeLessThanOrEqual(112);
  });
});
