// Verifies the merchant's `Authorization` header on every /v3/ call, as WeChat Pay does: scheme
// WECHATPAY2-SHA256-RSA2048, our mchid, the merchant certificate's serial, a timestamp within five
// minutes, and an RSA-SHA256 signature over `${METHOD}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`.
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { SandboxRequest } from "../http.ts";
import { SIGNATURE_TYPE } from "./signer.ts";

export const REQUEST_CLOCK_SKEW_MAX_S = 300;

export interface MerchantIdentity {
  mchid: string;
  serial: string;
  publicKeyPem: string;
}

type AuthFields = Partial<Record<"mchid" | "nonce_str" | "timestamp" | "serial_no" | "signature", string>>;

/** `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…`; null when the scheme is not WeChat's. */
export function parseAuthorization(header: string | undefined): AuthFields | null {
  if (!header?.startsWith(`${SIGNATURE_TYPE} `)) return null;
  const fields: Record<string, string> = {};
  for (const match of header.slice(SIGNATURE_TYPE.length + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    fields[match[1] as string] = match[2] as string;
  }
  return fields;
}

/** The URL as signed: path plus `?query` when there is one. */
export function pathWithQuery(request: SandboxRequest): string {
  const query = request.query.toString();
  return query === "" ? request.path : `${request.path}?${query}`;
}

export function createRequestVerifier(merchant: MerchantIdentity) {
  const publicKey: KeyObject = createPublicKey(merchant.publicKeyPem);
  /** null when the request is the merchant's, else why not (for the 401 message; never echoes secrets). */
  return (request: SandboxRequest, nowMs: number): string | null => {
    const auth = parseAuthorization(request.headers.authorization);
    if (!auth) return `Authorization header missing or not ${SIGNATURE_TYPE}`;
    const { mchid, nonce_str: nonce, timestamp, serial_no: serial, signature } = auth;
    if (!mchid || !nonce || !timestamp || !serial || !signature) return "Authorization header lacks a field";
    if (mchid !== merchant.mchid) return "mchid is not this merchant";
    if (serial.toUpperCase() !== merchant.serial.toUpperCase())
      return "serial_no is not the merchant certificate";
    if (!/^\d+$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > REQUEST_CLOCK_SKEW_MAX_S) {
      return "timestamp is more than 5 minutes off";
    }
    const message = `${request.method}\n${pathWithQuery(request)}\n${timestamp}\n${nonce}\n${request.body}\n`;
    const valid = verify("sha256", Buffer.from(message, "utf8"), publicKey, Buffer.from(signature, "base64"));
    return valid ? null : "signature does not verify";
  };
}
