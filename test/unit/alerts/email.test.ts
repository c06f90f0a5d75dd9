// The alert email: a MIME message any reader decodes back to the same subject, text and HTML (UTF-8 headers
// as RFC 2047 words within 75 characters, lines within 78, CRLF), a subject that starts with the severity
// and the kind, and a sender that never mails a recipient twice after a partial failure. The message is
// read back with the sandbox's own parser (dev/sandbox/alerts/email.ts), which the end-to-end tests use on
// the .eml files Miniflare's send_email simulation writes.
import { describe, expect, it } from "vitest";
import { decodeWords, parseEmail } from "../../../dev/sandbox/alerts/email.ts";
import { emailPayload, emailSender, emailSubject } from "../../../src/alerts/channels/email.ts";
import { buildMime, encodedWords, headerText } from "../../../src/alerts/channels/mime.ts";
import { compose } from "../../../src/alerts/compose.ts";
import { PLAIN_TEXT } from "../../../src/alerts/message.ts";
import type { Notice } from "../../../src/alerts/notice.ts";
import type { ChannelSettings } from "../../../src/alerts/settings.ts";

const BASE = "https://pay.example.com";
const LIMITS = { maxBytes: 200_000, itemsMax: 1_000 };

const notice = (key: string, overrides: Partial<Notice> = {}): Notice => ({
  key,
  kind: "unknown_order",
  severity: "critical",
  summary: "payment matches no order",
  detail: { order_id: "ord_1", amount_minor: 1999, currency: "USD" },
  event: "opened",
  atMs: Date.UTC(2026, 11, 6, 9, 30),
  openedAtMs: Date.UTC(2026, 11, 6, 9, 30),
  fires: 1,
  ...overrides,
});

const channel = (language: "en" | "zh", to = ["ops@example.com", "oncall@example.com"]): ChannelSettings => ({
  name: "email",
  url: `mailto:${to.join(",")}`,
  secret: null,
  language,
  atMobiles: [],
  email: { from: "payguard@alerts.example.com", to },
});

describe("MIME", () => {
  const subject = "[严重] unknown_order · 新告警: 付款 pi_1（19.99 USD）已暂存 🔴 ".repeat(3);
  const raw = buildMime({
    fromName: "payguard",
    fromAddress: "payguard@alerts.example.com",
    to: ["ops@example.com", "oncall@example.com"],
    subject,
    text: "第一行\n<b>not html</b> & more ✓",
    html: "<p>支付 &amp; 退款</p>",
    messageId: "<abc@alerts.example.com>",
    dateMs: Date.UTC(2026, 11, 6, 9, 30),
  });

  it("decodes back to the same subject, text and HTML", () => {
    const parsed = parseEmail(raw);
    expect(parsed.subject).toBe(subject);
    expect(parsed.text).toBe("第一行\n<b>not html</b> & more ✓");
    expect(parsed.html).toBe("<p>支付 &amp; 退款</p>");
    expect(parsed.from).toBe("payguard@alerts.example.com");
    expect(parsed.to).toEqual(["ops@example.com", "oncall@example.com"]);
    expect(parsed.messageId).toBe("<abc@alerts.example.com>");
    expect(parsed.headers.date).toBe("Sun, 06 Dec 2026 09:30:00 +0000");
    expect(parsed.headers["content-type"]).toContain("multipart/alternative");
  });

  it("keeps header lines within 78 characters, encoded words within 75, and ends lines with CRLF", () => {
    const [head = ""] = raw.split("\r\n\r\n");
    for (const line of head.split("\r\n")) expect(line.length, line).toBeLessThanOrEqual(78);
    for (const word of encodedWords(subject)) expect(word.length).toBeLessThanOrEqual(75);
    expect(raw.replace(/\r\n/g, "")).not.toContain("\n");
    expect(headerText("Subject", "plain ascii")).toBe("Subject: plain ascii");
    expect(decodeWords(headerText("Subject", "=?not a word?=").slice("Subject: ".length))).toBe(
      "=?not a word?=",
    );
  });

  it("never splits a character between two encoded words", () => {
    for (const word of encodedWords("🔴".repeat(40))) expect(decodeWords(word)).toMatch(/^(🔴)+$/u);
  });
});

describe("alert email", () => {
  it("starts its subject with the severity and the kind, in the channel's language", () => {
    const one = compose([notice("k1")], "zh", BASE, PLAIN_TEXT, LIMITS);
    expect(emailSubject(one)).toMatch(/^\[严重\] unknown_order · 新告警: /);
    const en = compose([notice("k1", { event: "resolved" })], "en", BASE, PLAIN_TEXT, LIMITS);
    expect(emailSubject(en)).toMatch(/^\[critical\] unknown_order · Resolved: /);
    const digest = compose(
      [notice("k1"), notice("k2", { kind: "needs_review", severity: "warning" })],
      "en",
      BASE,
      PLAIN_TEXT,
      LIMITS,
    );
    expect(emailSubject(digest)).toBe(
      "[critical] unknown_order, needs_review: payguard: 2 incident update(s)",
    );
  });

  it("has a text and an HTML part with the incident's link, HTML-escaped", () => {
    const hostile = notice("k<1>", { kind: "some_future_kind", summary: "<img src=x onerror=alert(1)>" });
    const payload = emailPayload(compose([hostile], "en", BASE, PLAIN_TEXT, LIMITS), channel("en"));
    const parsed = parseEmail(payload.raw);
    expect(parsed.text).toContain("<img src=x onerror=alert(1)>"); // plain text shows it as text
    expect(parsed.html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(parsed.html).not.toContain("<img");
    expect(parsed.html).toContain(`<a href="${BASE}/admin/incidents/k%3C1%3E"`);
    expect(parsed.headers["auto-submitted"]).toBe("auto-generated");
    expect(payload.pending).toEqual(["ops@example.com", "oncall@example.com"]);
  });
});

describe("email sender", () => {
  const payload = emailPayload(compose([notice("k1")], "en", BASE, PLAIN_TEXT, LIMITS), channel("en"));
  const io = (send: (message: { to: string }) => Promise<unknown>) => ({
    email: {
      binding: { send: (message: never) => send(message as { to: string }) },
      message: (from: string, to: string, raw: string) => ({ from, to, raw }),
    },
  });

  it("sends the same message to each recipient through the binding", async () => {
    const sent: string[] = [];
    const outcome = await emailSender.send(
      channel("en"),
      payload,
      io(async (message) => {
        sent.push(message.to);
      }),
    );
    expect(outcome).toEqual({ kind: "sent" });
    expect(sent).toEqual(["ops@example.com", "oncall@example.com"]);
  });

  it("after a partial failure keeps only the recipients still to be mailed, so a retry mails nobody twice", async () => {
    const outcome = await emailSender.send(
      channel("en"),
      payload,
      io(async (message) => {
        if (message.to === "oncall@example.com") throw new Error("internal error");
      }),
    );
    expect(outcome).toMatchObject({ kind: "retry", payload: { pending: ["oncall@example.com"] } });
  });

  it("treats a refused sender or recipient, and a missing binding, as configuration errors", async () => {
    const refused = await emailSender.send(
      channel("en"),
      payload,
      io(async () => {
        throw new Error("email to ops@example.com not allowed");
      }),
    );
    expect(refused).toMatchObject({ kind: "config", reason: expect.stringContaining("not allowed") });
    expect(await emailSender.send(channel("en"), payload, { email: null })).toMatchObject({ kind: "config" });
  });
});
