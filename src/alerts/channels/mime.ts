/**
 * A small MIME builder for the alert email: `multipart/alternative` with a plain-text and an HTML part,
 * both UTF-8 in base64 (76-character lines), and headers in ASCII: non-ASCII header text becomes RFC 2047
 * encoded words (`=?UTF-8?B?…?=`, each at most 75 characters and never splitting a character), folded onto
 * continuation lines. Lines end CRLF (RFC 5322). The boundary cannot occur in base64, so it is fixed.
 * Pure: the date and the Message-ID are passed in.
 */

export interface MimeMessage {
  fromName: string;
  fromAddress: string;
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
  /** `<…@domain>`; the same for every attempt of one message, so a receiver can drop a duplicate. */
  messageId: string;
  dateMs: number;
  /** Extra ASCII headers (e.g. `Auto-Submitted`). */
  headers?: Readonly<Record<string, string>>;
}

const CRLF = "\r\n";
const BASE64_LINE_CHARS = 76;
const HEADER_LINE_CHARS_MAX = 78;
/**
 * Bytes of text per encoded word: `=?UTF-8?B?` + base64 + `?=` stays within RFC 2047's 75 characters and,
 * after `Subject: ` on the first line, within the 78-character line (42 bytes → 56 base64 → 68 characters).
 */
const ENCODED_WORD_BYTES_MAX = 42;
export const MIME_BOUNDARY = "=_payguard_alternative";
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64Lines(text: string): string {
  const encoded = base64(encoder.encode(text));
  const lines: string[] = [];
  for (let at = 0; at < encoded.length; at += BASE64_LINE_CHARS)
    lines.push(encoded.slice(at, at + BASE64_LINE_CHARS));
  return lines.join(CRLF);
}

/** RFC 2047 encoded words for `text`, each within the byte budget and cut between characters. */
export function encodedWords(text: string): string[] {
  const words: string[] = [];
  let chunk: number[] = [];
  for (const char of text) {
    const bytes = encoder.encode(char);
    if (chunk.length + bytes.length > ENCODED_WORD_BYTES_MAX) {
      words.push(`=?UTF-8?B?${base64(Uint8Array.from(chunk))}?=`);
      chunk = [];
    }
    chunk.push(...bytes);
  }
  if (chunk.length > 0) words.push(`=?UTF-8?B?${base64(Uint8Array.from(chunk))}?=`);
  return words;
}

/** Unstructured header text (Subject): as is when it is short printable ASCII, else encoded words. */
export function headerText(name: string, text: string): string {
  const clean = text.replace(/[\r\n]+/g, " ");
  const plain = PRINTABLE_ASCII.test(clean) && !clean.includes("=?");
  if (plain && name.length + 2 + clean.length <= HEADER_LINE_CHARS_MAX) return `${name}: ${clean}`;
  return `${name}: ${encodedWords(clean).join(`${CRLF} `)}`;
}

/** An address list, one address per continuation line when it would not fit on one. */
function addressHeader(name: string, addresses: readonly string[]): string {
  const line = `${name}: ${addresses.join(", ")}`;
  return line.length <= HEADER_LINE_CHARS_MAX ? line : `${name}: ${addresses.join(`,${CRLF} `)}`;
}

function fromHeader(fromName: string, address: string): string {
  const name = PRINTABLE_ASCII.test(fromName)
    ? `"${fromName.replace(/["\\]/g, "")}"`
    : encodedWords(fromName).join(" ");
  return `From: ${name} <${address}>`;
}

/** RFC 5322 date in UTC, e.g. `Tue, 01 Dec 2026 09:00:00 +0000`. */
export const rfc5322Date = (ms: number): string => new Date(ms).toUTCString().replace(/GMT$/, "+0000");

function part(contentType: string, body: string): string {
  return [
    `Content-Type: ${contentType}; charset=utf-8`,
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(body),
  ].join(CRLF);
}

export function buildMime(message: MimeMessage): string {
  const headers = [
    fromHeader(message.fromName, message.fromAddress),
    addressHeader("To", message.to),
    headerText("Subject", message.subject),
    `Date: ${rfc5322Date(message.dateMs)}`,
    `Message-ID: ${message.messageId}`,
    "MIME-Version: 1.0",
    ...Object.entries(message.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    `Content-Type: multipart/alternative; boundary="${MIME_BOUNDARY}"`,
  ];
  return [
    ...headers,
    "",
    `--${MIME_BOUNDARY}`,
    part("text/plain", message.text),
    `--${MIME_BOUNDARY}`,
    part("text/html", message.html),
    `--${MIME_BOUNDARY}--`,
    "",
  ].join(CRLF);
}
