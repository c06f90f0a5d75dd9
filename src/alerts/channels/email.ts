/**
 * Alert email through Cloudflare's own `send_email` binding (`EMAIL`): one MIME message (src/alerts/
 * channels/mime.ts) with a plain-text and an HTML part, built when the message is stored, so every retry
 * sends the same bytes and the same Message-ID. The subject starts with the severity and the incident kind.
 *
 * The binding takes one envelope recipient per message: each recipient gets the same message, and the ones
 * still to be sent are stored with the message, so a retry after a partial failure never mails anyone twice.
 * The binding throws on failure: a sender or recipient Cloudflare does not allow (an unverified destination,
 * a domain not onboarded, an address outside the binding's allowlist) is a configuration error that waits
 * for a settings change; anything else is retried like a webhook's 5xx.
 */
import type { Composed } from "../compose.ts";
import {
  digestLine,
  incidentsUrl,
  incidentUrl,
  type Markup,
  noticeLines,
  noticeTitle,
  PLAIN_TEXT,
  WORDS,
} from "../message.ts";
import { severityRank } from "../notice.ts";
import type { ChannelSettings } from "../settings.ts";
import { buildMime } from "./mime.ts";
import type { Sender, SendIo, SendOutcome } from "./types.ts";

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export const htmlEscape = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);

export const HTML_MARKUP: Markup = {
  bold: (text) => `<strong>${text}</strong>`,
  link: (url, label) => `<a href="${htmlEscape(url)}">${label}</a>`,
  escape: htmlEscape,
  literal: htmlEscape,
};

const SUBJECT_TITLE_CHARS_MAX = 140;
const SUBJECT_KINDS_MAX = 3;
const FROM_NAME = "payguard";
/** Cloudflare's refusals that only a settings change can fix. */
const CONFIG_REFUSAL = /not allowed|not verified|unverified|not onboarded|does not match|invalid message-id/i;

export interface EmailPayload {
  from: string;
  /** Recipients still to be sent this message. */
  pending: string[];
  subject: string;
  raw: string;
}

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** `[critical] unknown_order · New: …` for one incident; the most severe and its kinds for a digest. */
export function emailSubject(composed: Composed): string {
  const [first] = composed.notices;
  const words = WORDS[composed.language];
  if (!first) return cut(composed.title, SUBJECT_TITLE_CHARS_MAX);
  if (!composed.digest) {
    const title = cut(noticeTitle(first, composed.language), SUBJECT_TITLE_CHARS_MAX);
    return `[${words.severity[first.severity]}] ${first.kind} · ${words.event[first.event]}: ${title}`;
  }
  const worst = composed.notices.reduce((a, b) =>
    severityRank(b.severity) > severityRank(a.severity) ? b : a,
  );
  const kinds = [...new Set(composed.notices.map((notice) => notice.kind))];
  const named = kinds.slice(0, SUBJECT_KINDS_MAX).join(", ");
  const more = kinds.length > SUBJECT_KINDS_MAX ? ` +${kinds.length - SUBJECT_KINDS_MAX}` : "";
  return `[${words.severity[worst.severity]}] ${named}${more}: ${composed.title}`;
}

function htmlLines(composed: Composed): string[] {
  const { language, publicBaseUrl, notices } = composed;
  const [first] = notices;
  if (!first) return composed.lines.map(htmlEscape);
  if (!composed.digest) return noticeLines(first, language, publicBaseUrl, HTML_MARKUP);
  return [
    HTML_MARKUP.bold(htmlEscape(composed.title)),
    ...notices.map((notice) => digestLine(notice, language, publicBaseUrl, HTML_MARKUP)),
  ];
}

function primaryLink(composed: Composed): { url: string; label: string } {
  const words = WORDS[composed.language];
  const [first] = composed.notices;
  if (first && !composed.digest)
    return { url: incidentUrl(composed.publicBaseUrl, first.key), label: words.open };
  return { url: incidentsUrl(composed.publicBaseUrl), label: words.openList };
}

export function emailHtml(composed: Composed, subject: string): string {
  const link = primaryLink(composed);
  const body = htmlLines(composed)
    .map((line) => `<div style="margin:0 0 6px">${line.replace(/^- /, "• ")}</div>`)
    .join("\n");
  return [
    "<!doctype html>",
    `<html lang="${composed.language === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8"><title>${htmlEscape(subject)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#1f2328">',
    body,
    `<p style="margin-top:16px"><a href="${htmlEscape(link.url)}" style="display:inline-block;padding:8px 14px;background:#0969da;color:#ffffff;border-radius:6px;text-decoration:none">${htmlEscape(link.label)}</a></p>`,
    "</body></html>",
  ].join("\n");
}

const messageIdFor = (from: string): string =>
  `<${crypto.randomUUID()}@${from.split("@")[1] ?? "payguard.invalid"}>`;

export function emailPayload(composed: Composed, channel: ChannelSettings): EmailPayload {
  const email = channel.email ?? { from: "", to: [] };
  const subject = emailSubject(composed);
  const text = [...composed.lines, "", `${primaryLink(composed).label}: ${primaryLink(composed).url}`].join(
    "\n",
  );
  const raw = buildMime({
    fromName: FROM_NAME,
    fromAddress: email.from,
    to: email.to,
    subject,
    text,
    html: emailHtml(composed, subject),
    messageId: messageIdFor(email.from),
    dateMs: composed.atMs,
    headers: { "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All" },
  });
  return { from: email.from, pending: [...email.to], subject, raw };
}

function refusal(error: unknown): Exclude<SendOutcome, { kind: "sent" }> {
  const message = String((error as Error)?.message ?? error).slice(0, 80);
  return CONFIG_REFUSAL.test(message)
    ? { kind: "config", reason: `email ${message}` }
    : { kind: "retry", reason: `email ${message}`, afterMs: null };
}

async function sendEmail(_channel: ChannelSettings, stored: unknown, io: SendIo): Promise<SendOutcome> {
  if (!io.email) return { kind: "config", reason: "email: the EMAIL send_email binding is missing" };
  const payload = stored as EmailPayload;
  const pending = [...payload.pending];
  while (pending.length > 0) {
    const to = pending[0] as string;
    try {
      await io.email.binding.send(io.email.message(payload.from, to, payload.raw) as never);
    } catch (error) {
      const outcome = refusal(error);
      return outcome.kind === "retry" ? { ...outcome, payload: { ...payload, pending } } : outcome;
    }
    pending.shift();
  }
  return { kind: "sent" };
}

export const emailSender: Sender = {
  markup: PLAIN_TEXT,
  payload: emailPayload,
  send: sendEmail,
};
