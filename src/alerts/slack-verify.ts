/**
 * Verifies a request from Slack before anything reads it: `X-Slack-Signature` is `v0=` and the hex
 * HMAC-SHA256, keyed with the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`, and the
 * timestamp must be within 5 minutes of now (either way). The comparison is WebCrypto's HMAC verify, which
 * is constant-time. A verified request's signature is what replay protection remembers. Pure: the clock
 * is passed in.
 */

export const SLACK_TIMESTAMP_TOLERANCE_S = 5 * 60;
const SIGNATURE_PATTERN = /^v0=([0-9a-f]{64})$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export type SlackVerdict =
  | { ok: true; signature: string; timestampS: number }
  | { ok: false; reason: "missing_headers" | "stale" | "bad_signature" };

const encoder = new TextEncoder();

const fromHex = (hex: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

export async function verifySlackRequest(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  nowMs: number,
): Promise<SlackVerdict> {
  const timestamp = headers.timestamp?.trim() ?? "";
  const match = SIGNATURE_PATTERN.exec(headers.signature?.trim().toLowerCase() ?? "");
  if (!TIMESTAMP_PATTERN.test(timestamp) || !match?.[1]) return { ok: false, reason: "missing_headers" };
  const timestampS = Number(timestamp);
  if (Math.abs(nowMs / 1000 - timestampS) > SLACK_TIMESTAMP_TOLERANCE_S)
    return { ok: false, reason: "stale" };
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    fromHex(match[1]),
    encoder.encode(`v0:${timestamp}:${rawBody}`),
  );
  return valid ? { ok: true, signature: match[1], timestampS } : { ok: false, reason: "bad_signature" };
}
