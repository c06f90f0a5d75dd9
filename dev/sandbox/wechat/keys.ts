// Key material of one simulated WeChat Pay merchant. payguard gets `WechatCredentials` (what a merchant
// downloads from the merchant platform); the sandbox keeps `WechatPlatformKeys` (WeChat's private halves
// and the merchant's public key). Everything is PEM text so the sandbox keys file can hold it as JSON.
import { generateKeyPair, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { certificatePem, selfSignedCertificate } from "./x509.ts";

/** A type alias, not an interface, so it stays assignable to `Record<string, string>` (vitest `provide`, env maps). */
export type WechatCredentials = {
  mchid: string;
  appid: string;
  /** serial of the merchant API certificate, 40 upper-case hex digits, sent as `serial_no` */
  merchantSerial: string;
  /** PKCS#8 PEM; payguard signs API requests with it */
  merchantPrivateKeyPem: string;
  /** 32 ASCII alphanumerics; its UTF-8 bytes are the AES-256-GCM key of notification resources */
  apiV3Key: string;
  /** `PUB_KEY_ID_…`, the `Wechatpay-Serial` of messages signed with the "WeChat Pay public key" */
  publicKeyId: string;
  /** SPKI PEM of the "WeChat Pay public key" */
  publicKeyPem: string;
  /** one or more X.509 PEM platform certificates (certificate mode) */
  platformCertsPem: string;
};

export interface WechatPlatformKeys {
  /** PKCS#8 PEM: private half of the "WeChat Pay public key" (public_key mode) */
  publicKeyModePrivateKeyPem: string;
  /** PKCS#8 PEM: private key of the platform certificate (certificate mode) */
  platformCertPrivateKeyPem: string;
  /** upper-case hex serial of the platform certificate */
  platformCertSerial: string;
  /** SPKI PEM: verifies the merchant's request signatures */
  merchantPublicKeyPem: string;
}

export const SANDBOX_MCHID = "1900000109";
const RSA_MODULUS_BITS = 2048;
const SERIAL_BYTES = 20;
const API_V3_KEY_CHARS = 32;
const PUBLIC_KEY_ID_DIGITS = 24;
const DAY_MS = 24 * 60 * 60 * 1000;
const PLATFORM_CERT_VALIDITY_DAYS = 5 * 365;
const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const generateRsa = promisify(generateKeyPair);
const rsaPair = () => generateRsa("rsa", { modulusLength: RSA_MODULUS_BITS });

const pkcs8Pem = (key: { export(options: { type: "pkcs8"; format: "pem" }): string | Buffer }) =>
  key.export({ type: "pkcs8", format: "pem" }).toString();
const spkiPem = (key: { export(options: { type: "spki"; format: "pem" }): string | Buffer }) =>
  key.export({ type: "spki", format: "pem" }).toString();

/** Starts with 0x10..0x7F: a positive DER integer without a leading zero, so every parser reads back this hex. */
function certificateSerial(): string {
  const bytes = randomBytes(SERIAL_BYTES);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString("hex").toUpperCase();
}

const randomText = (alphabet: string, length: number): string =>
  Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join("");

async function platformCertificate(): Promise<{ pem: string; serial: string; privatePem: string }> {
  const { publicKey, privateKey } = await rsaPair();
  const serial = certificateSerial();
  const nowMs = Date.now();
  const der = selfSignedCertificate({
    serialHex: serial,
    subject: { commonName: "WeChat Pay Sandbox Platform", organization: "payguard sandbox", country: "CN" },
    notBefore: new Date(nowMs - DAY_MS),
    notAfter: new Date(nowMs + PLATFORM_CERT_VALIDITY_DAYS * DAY_MS),
    publicKey,
    privateKey,
  });
  return { pem: certificatePem(der), serial, privatePem: pkcs8Pem(privateKey) };
}

/** Fresh keys for one sandbox merchant. Secrets come from the OS RNG: they are never scenario data. */
export async function generateWechatKeys(): Promise<{
  credentials: WechatCredentials;
  platformKeys: WechatPlatformKeys;
}> {
  const [merchant, wechatPublicKey, platform] = await Promise.all([
    rsaPair(),
    rsaPair(),
    platformCertificate(),
  ]);
  return {
    credentials: {
      mchid: SANDBOX_MCHID,
      appid: `wx${randomBytes(8).toString("hex")}`,
      merchantSerial: randomBytes(SERIAL_BYTES).toString("hex").toUpperCase(),
      merchantPrivateKeyPem: pkcs8Pem(merchant.privateKey),
      apiV3Key: randomText(ALPHANUMERIC, API_V3_KEY_CHARS),
      publicKeyId: `PUB_KEY_ID_0114${randomText("0123456789", PUBLIC_KEY_ID_DIGITS)}`,
      publicKeyPem: spkiPem(wechatPublicKey.publicKey),
      platformCertsPem: platform.pem,
    },
    platformKeys: {
      publicKeyModePrivateKeyPem: pkcs8Pem(wechatPublicKey.privateKey),
      platformCertPrivateKeyPem: platform.privatePem,
      platformCertSerial: platform.serial,
      merchantPublicKeyPem: spkiPem(merchant.publicKey),
    },
  };
}
