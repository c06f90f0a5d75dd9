/**
 * WeChat Pay configuration, parsed from the Worker env with each problem named by its variable.
 * Either the WeChat Pay public key (with its id) or platform certificates are required; both may be set
 * during the migration between them.
 */
import { type PlatformCertificate, readPlatformCertificates } from "./certificates.ts";
import { buildVerifyKeySet, type VerifyKeySet } from "./keys.ts";

export const WECHATPAY_DEFAULT_API_BASE = "https://api.mch.weixin.qq.com";
const APIV3_KEY_LENGTH = 32;

export interface WechatConfig {
  mchid: string;
  appid: string;
  merchantSerial: string;
  merchantPrivateKeyPem: string;
  apiV3Key: string;
  /** The serial sent as `Wechatpay-Serial` on requests: the public key id, else a platform serial. */
  preferredSerial: string;
  /** `PUB_KEY_ID_…` when the WeChat Pay public key is configured. */
  publicKeyId: string | null;
  verifyKeys: VerifyKeySet;
  /** With their validity, for the expiry incident (cert-expiry.ts); the public key has none to watch. */
  platformCertificates: readonly PlatformCertificate[];
  apiBase: string;
}

type RawEnv = Record<string, unknown>;
const text = (env: RawEnv, name: string): string =>
  typeof env[name] === "string" ? (env[name] as string).trim() : "";

export function parseWechatConfig(
  env: RawEnv,
): { ok: true; config: WechatConfig } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const required = (name: string) => {
    const value = text(env, name);
    if (!value) problems.push(`${name} is missing`);
    return value;
  };
  const mchid = required("WECHATPAY_MCHID");
  const appid = required("WECHATPAY_APPID");
  const merchantSerial = required("WECHATPAY_MERCHANT_SERIAL");
  const merchantPrivateKeyPem = required("WECHATPAY_MERCHANT_PRIVATE_KEY");
  if (merchantPrivateKeyPem && !merchantPrivateKeyPem.includes("BEGIN PRIVATE KEY")) {
    problems.push("WECHATPAY_MERCHANT_PRIVATE_KEY must be a PKCS#8 PEM (BEGIN PRIVATE KEY)");
  }
  const apiV3Key = required("WECHATPAY_APIV3_KEY");
  if (apiV3Key && new TextEncoder().encode(apiV3Key).length !== APIV3_KEY_LENGTH) {
    problems.push(`WECHATPAY_APIV3_KEY must be exactly ${APIV3_KEY_LENGTH} characters`);
  }
  const publicKeyId = text(env, "WECHATPAY_PUBLIC_KEY_ID");
  const publicKeyPem = text(env, "WECHATPAY_PUBLIC_KEY");
  const platformCertsPem = text(env, "WECHATPAY_PLATFORM_CERTS");
  if (Boolean(publicKeyId) !== Boolean(publicKeyPem)) {
    problems.push("WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID must be set together");
  }
  let verifyKeys: VerifyKeySet = new Map();
  let platformCertificates: PlatformCertificate[] = [];
  try {
    platformCertificates = readPlatformCertificates(platformCertsPem);
    verifyKeys = buildVerifyKeySet({ publicKeyId, publicKeyPem, platformCertificates });
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (verifyKeys.size === 0 && problems.length === 0) {
    problems.push(
      "WECHATPAY_PUBLIC_KEY (with WECHATPAY_PUBLIC_KEY_ID) or WECHATPAY_PLATFORM_CERTS is required",
    );
  }
  const apiBase = (text(env, "WECHATPAY_API_BASE") || WECHATPAY_DEFAULT_API_BASE).replace(/\/+$/, "");
  if (!URL.canParse(apiBase)) problems.push("WECHATPAY_API_BASE is not a valid URL");
  if (problems.length > 0) return { ok: false, problems };
  const preferredSerial = publicKeyId || ([...verifyKeys.keys()][0] ?? "");
  return {
    ok: true,
    config: {
      mchid,
      appid,
      merchantSerial,
      merchantPrivateKeyPem,
      apiV3Key,
      preferredSerial,
      publicKeyId: publicKeyId || null,
      verifyKeys,
      platformCertificates,
      apiBase,
    },
  };
}
