// What the worker's `send_email` binding sent, read back from Miniflare's own simulation: locally (wrangler
// dev, the vitest pool) the binding parses each message, checks its From and Message-ID, and writes it as
// `<tmpdir>/miniflare-<instance>/email/email/<id>.eml`. The sandbox reads those files and parses them
// (headers with RFC 2047 words, multipart parts in base64 or quoted-printable), so tests and the local
// dashboard see exactly the bytes the binding accepted. Files are immutable: each is parsed once.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SentEmail {
  file: string;
  sentAtMs: number;
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  headers: Record<string, string>;
  text: string;
  html: string;
}

const MINIFLARE_DIR_PREFIX = "miniflare-";
const cache = new Map<string, SentEmail>();

function decodeBytes(bytes: Uint8Array, charset = "utf-8"): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

function decodeQuotedPrintable(text: string): Uint8Array {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i += 1) {
    const char = joined[i] as string;
    const hex = joined.slice(i + 1, i + 3);
    if (char === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(char, "utf8"));
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 encoded words (B and Q) back to text; adjacent words join without the space between them. */
export function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(
      /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g,
      (_match, charset: string, encoding: string, text: string) => {
        const bytes =
          encoding.toUpperCase() === "B"
            ? Uint8Array.from(Buffer.from(text, "base64"))
            : decodeQuotedPrintable(text.replace(/_/g, " "));
        return decodeBytes(bytes, charset);
      },
    );
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return headers;
}

function splitEntity(raw: string): { headers: Record<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  if (!match) return { headers: parseHeaders(raw), body: "" };
  return { headers: parseHeaders(raw.slice(0, match.index)), body: raw.slice(match.index + match[0].length) };
}

const param = (header: string, name: string): string | undefined =>
  new RegExp(`${name}="?([^";]+)"?`, "i").exec(header)?.[1];

function decodeBody(headers: Record<string, string>, body: string): string {
  const encoding = (headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  const charset = param(headers["content-type"] ?? "", "charset") ?? "utf-8";
  if (encoding === "base64")
    return decodeBytes(Uint8Array.from(Buffer.from(body.replace(/\s+/g, ""), "base64")), charset);
  if (encoding === "quoted-printable") return decodeBytes(decodeQuotedPrintable(body), charset);
  return body;
}

/** The text and HTML parts of a message (multipart/alternative or a single part). */
function parts(headers: Record<string, string>, body: string): { text: string; html: string } {
  const type = headers["content-type"] ?? "text/plain";
  const boundary = param(type, "boundary");
  if (!/^multipart\//i.test(type) || !boundary) {
    const decoded = decodeBody(headers, body);
    return /^text\/html/i.test(type) ? { text: "", html: decoded } : { text: decoded, html: "" };
  }
  const found = { text: "", html: "" };
  for (const chunk of body.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith("--")) break;
    const entity = splitEntity(chunk.replace(/^\r?\n/, ""));
    const inner = parts(entity.headers, entity.body.replace(/\r?\n$/, ""));
    found.text ||= inner.text;
    found.html ||= inner.html;
  }
  return found;
}

export function parseEmail(raw: string, file = "", sentAtMs = 0): SentEmail {
  const { headers, body } = splitEntity(raw);
  const addresses = (value: string | undefined) =>
    (value ?? "")
      .split(",")
      .map((item) => (/<([^>]+)>/.exec(item)?.[1] ?? item).trim())
      .filter(Boolean);
  return {
    file,
    sentAtMs,
    from: addresses(headers.from)[0] ?? "",
    to: addresses(headers.to),
    subject: decodeWords(headers.subject ?? ""),
    messageId: headers["message-id"] ?? "",
    headers,
    ...parts(headers, body),
  };
}

/** A multipart message is complete once its closing boundary is there (a file may be mid-write). */
function complete(raw: string): boolean {
  const type = splitEntity(raw).headers["content-type"] ?? "";
  const boundary = param(type, "boundary");
  return !boundary || raw.includes(`--${boundary}--`);
}

function emailDirs(): string[] {
  const root = tmpdir();
  let entries: string[] = [];
  try {
    entries = readdirSync(root).filter((name) => name.startsWith(MINIFLARE_DIR_PREFIX));
  } catch {
    return [];
  }
  return entries.map((name) => join(root, name, "email", "email"));
}

/** Every message the local send_email simulation wrote and that still exists, oldest first. */
export function readSentEmails(): SentEmail[] {
  const found: SentEmail[] = [];
  for (const dir of emailDirs()) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((name) => name.endsWith(".eml"));
    } catch {
      continue;
    }
    for (const name of files) {
      const file = join(dir, name);
      const cached = cache.get(file);
      if (cached) {
        found.push(cached);
        continue;
      }
      try {
        const raw = readFileSync(file, "utf8");
        if (!complete(raw)) continue;
        const parsed = parseEmail(raw, file, statSync(file).mtimeMs);
        cache.set(file, parsed);
        found.push(parsed);
      } catch {
        // Being written or already cleaned up by its Miniflare: read it next time.
      }
    }
  }
  return found.sort((a, b) => a.sentAtMs - b.sentAtMs || a.file.localeCompare(b.file));
}
