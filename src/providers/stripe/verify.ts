/**
 * Stripe webhook verification, as Stripe documents it ("Verify the events manually"): the header's
 * timestamp `t` within the tolerance, and one of its `v1` signatures equal to HMAC-SHA256(secret, "t.body").
 * The HMAC key of each secret is imported once per isolate (stripe-node's helper imports it on every call),
 * and `crypto.subtle.verify` compares in constant time. Each configured secret is tried in turn, so
 * rotating the endpoint secret never drops events. The body is parsed only after a signature matched.
 */
import type { StripeEventInput } from "./normalise.ts";

export const STRIPE_SIGNATURE_TOLERANCE_S = 300;

export type StripeVerifyFailure = "missing_signature" | "bad_signature" | "malformed_json";
export type StripeVerifyResult =
  | { ok: true; event: StripeEventInput }
  | { ok: false; reason: StripeVerifyFailure };

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** `t=…,v1=…,v1=…`: the timestamp and every v1 signature that is well-formed hex (others cannot match). */
function parseHeader(header: string): { timestamp: string; signatures: Uint8Array<ArrayBuffer>[] } | null {
  let timestamp = "";
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const item of header.split(",")) {
    const [name, value = ""] = item.trim().split("=", 2);
    if (name === "t") timestamp = value;
    else if (name === "v1" && HEX_SHA256.test(value)) signatures.push(hexBytes(value));
  }
  return /^\d+$/.test(timestamp) && signatures.length ? { timestamp, signatures } : null;
}

async function signedBy(secret: string, payload: BufferSource, signatures: Uint8Array<ArrayBuffer>[]) {
  const key = await hmacKey(secret);
  for (const signature of signatures)
    if (await crypto.subtle.verify("HMAC", key, signature, payload)) return true;
  return false;
}

export async function verifyStripeEvent(
  rawBody: string,
  signatureHeader: string | null,
  secrets: readonly string[],
  nowMs: number,
): Promise<StripeVerifyResult> {
  if (!signatureHeader) return { ok: false, reason: "missing_signature" };
  const header = parseHeader(signatureHeader);
  // Stripe's own libraries refuse only timestamps older than the tolerance.
  if (!header || nowMs / 1000 - Number(header.timestamp) > STRIPE_SIGNATURE_TOLERANCE_S)
    return { ok: false, reason: "bad_signature" };
  // Signed as sent: the header's timestamp text, a dot, the body's exact text.
  const payload = encoder.encode(`${header.timestamp}.${rawBody}`);
  for (const secret of secrets) {
    if (!(await signedBy(secret, payload, header.signatures))) continue;
    try {
      return { ok: true, event: JSON.parse(rawBody) as StripeEventInput };
    } catch {
      return { ok: false, reason: "malformed_json" };
    }
  }
  return { ok: false, reason: "bad_signature" };
}
