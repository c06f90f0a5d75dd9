/**
 * Verifies a WeChat Pay signature over `${timestamp}\n${nonce}\n${body}\n` (notifications and API
 * responses alike). Pure apart from WebCrypto: headers, raw body, keys and `nowMs` in, a verdict out.
 */
import { type VerifyKeySet, verifySignature } from "./keys.ts";

export const WECHATPAY_TIMESTAMP_SKEW_S = 300;
export const WECHATPAY_SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048";
export const SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/";

export type SignatureRejection =
  | "missing_headers"
  | "unsupported_signature_type"
  | "signtest_probe"
  | "stale_timestamp"
  | "unknown_serial"
  | "bad_signature";

export interface SignedHeaders {
  get(name: string): string | null;
}

export async function verifyWechatSignature(
  headers: SignedHeaders,
  rawBody: string,
  keys: VerifyKeySet,
  nowMs: number,
): Promise<{ ok: true } | { ok: false; reason: SignatureRejection }> {
  const timestamp = headers.get("wechatpay-timestamp");
  const nonce = headers.get("wechatpay-nonce");
  const serial = headers.get("wechatpay-serial");
  const signature = headers.get("wechatpay-signature");
  const type = headers.get("wechatpay-signature-type");
  if (!timestamp || !nonce || !serial || !signature) return { ok: false, reason: "missing_headers" };
  if (type !== null && type !== WECHATPAY_SIGNATURE_TYPE)
    return { ok: false, reason: "unsupported_signature_type" };
  if (signature.startsWith(SIGNTEST_PREFIX)) return { ok: false, reason: "signtest_probe" };
  const timestampS = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - timestampS) > WECHATPAY_TIMESTAMP_SKEW_S) {
    return { ok: false, reason: "stale_timestamp" };
  }
  const spki = keys.get(serial);
  if (!spki) return { ok: false, reason: "unknown_serial" };
  const valid = await verifySignature(spki, `${timestamp}\n${nonce}\n${rawBody}\n`, signature);
  return valid ? { ok: true } : { ok: false, reason: "bad_signature" };
}
