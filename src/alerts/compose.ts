/**
 * Turns pending notices into one channel message: a single incident in full, or a digest that packs as
 * many incidents (most severe first) as the channel's size limit and item limit allow. What does not fit
 * stays pending for the channel's next message, so every incident is represented in some message.
 */
import { digestLine, digestTitle, type Markup, noticeLines, titleFor } from "./message.ts";
import type { Notice } from "./notice.ts";
import type { AlertLanguage } from "./settings.ts";

export interface Composed {
  /** Unescaped: each channel escapes it for where it goes (Slack's fallback text, an email subject). */
  title: string;
  /** In the channel's markup: the message body, line by line. */
  lines: string[];
  /** How many of the given notices this message covers (a prefix of the list). */
  taken: number;
  /** The notices covered, for channels that add buttons or cards per incident. */
  notices: Notice[];
  /** One line per incident (a storm) rather than one incident in full. */
  digest: boolean;
  language: AlertLanguage;
  publicBaseUrl: string;
  /** When the newest notice happened: the message's date (an email's Date header). */
  atMs: number;
}

export interface ComposeLimits {
  /** Size of the body, in bytes of UTF-8. */
  maxBytes: number;
  /** Incidents one digest may carry (Slack: its block limit). */
  itemsMax: number;
}

/** Room kept for the digest title and a channel's extras (DingTalk @mentions). */
const DIGEST_HEADER_RESERVE_BYTES = 300;
const encoder = new TextEncoder();

export const byteLength = (text: string): number => encoder.encode(text).length;

/** The longest prefix of `text` within `maxBytes` of UTF-8, cut between characters, never inside one. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  let used = 0;
  let end = 0;
  for (const char of text) {
    const size = byteLength(char);
    if (used + size > maxBytes) break;
    used += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** `notices` must already be in send order (most severe first). */
export function compose(
  notices: readonly Notice[],
  language: AlertLanguage,
  publicBaseUrl: string,
  markup: Markup,
  limits: ComposeLimits,
): Composed {
  const [first] = notices;
  if (!first) throw new Error("compose needs at least one notice");
  const context = { language, publicBaseUrl, atMs: Math.max(...notices.map((notice) => notice.atMs)) };
  if (notices.length === 1 || limits.itemsMax <= 1)
    return {
      title: titleFor([first], language),
      lines: noticeLines(first, language, publicBaseUrl, markup),
      taken: 1,
      notices: [first],
      digest: false,
      ...context,
    };
  const budget = limits.maxBytes - DIGEST_HEADER_RESERVE_BYTES;
  const lines: string[] = [];
  let used = 0;
  for (const notice of notices) {
    if (lines.length >= limits.itemsMax) break;
    const line = digestLine(notice, language, publicBaseUrl, markup);
    const size = byteLength(line) + 1;
    if (lines.length > 0 && used + size > budget) break;
    lines.push(line);
    used += size;
  }
  const covered = notices.slice(0, lines.length);
  const title = digestTitle(covered, language);
  return {
    title,
    lines: [markup.bold(title), ...lines],
    taken: lines.length,
    notices: covered,
    digest: true,
    ...context,
  };
}
