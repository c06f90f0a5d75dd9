/**
 * WeChat Pay keys as WebCrypto keys, imported once per isolate. Verification keys are looked up by the
 * serial WeChat sends in `Wechatpay-Serial`: the public key id (`PUB_KEY_ID_…`) or a platform
 * certificate serial. Both may be configured during the certificate → public-key migration.
 */
import { type PlatformCertificate, pemBlocks } from "./certificates.ts";
import { base64ToBytes, bytesToBase64 } from "./encoding.ts";

const RSA_SHA256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const imported = new Map<string, Promise<CryptoKey>>();

function cached(cacheKey: string, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
  let key = imported.get(cacheKey);
  if (!key) {
    key = load();
    imported.set(cacheKey, key);
    key.catch(() => imported.delete(cacheKey));
  }
  return key;
}

export function importVerifyKey(spki: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const cacheKey = `spki:${bytesToBase64(spki)}`;
  return cached(cacheKey, () => crypto.subtle.importKey("spki", spki, RSA_SHA256, false, ["verify"]));
}

export function importSigningKey(pkcs8Pem: string): Promise<CryptoKey> {
  return cached(`pkcs8:${pkcs8Pem}`, async () => {
    const der = pemBlocks(pkcs8Pem, "PRIVATE KEY")[0];
    if (!der) throw new Error("WECHATPAY_MERCHANT_PRIVATE_KEY is not a PKCS#8 PEM private key");
    return crypto.subtle.importKey("pkcs8", der, RSA_SHA256, false, ["sign"]);
  });
}

/** Serial → SPKI for every key payguard accepts WeChat signatures from. */
export type VerifyKeySet = ReadonlyMap<string, Uint8Array<ArrayBuffer>>;

/** The platform certificates come read (certificates.ts): their serials and keys are what counts here. */
export function buildVerifyKeySet(input: {
  publicKeyId?: string | null;
  publicKeyPem?: string | null;
  platformCertificates?: readonly PlatformCertificate[];
}): VerifyKeySet {
  const keys = new Map<string, Uint8Array<ArrayBuffer>>();
  if (input.publicKeyId && input.publicKeyPem) {
    const spki = pemBlocks(input.publicKeyPem, "PUBLIC KEY")[0];
    if (!spki) throw new Error("WECHATPAY_PUBLIC_KEY is not a PEM public key");
    keys.set(input.publicKeyId, spki);
  }
  for (const certificate of input.platformCertificates ?? []) keys.set(certificate.serial, certificate.spki);
  return keys;
}

export async function verifySignature(
  spki: Uint8Array<ArrayBuffer>,
  message: string,
  signatureBase64: string,
): Promise<boolean> {
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = base64ToBytes(signatureBase64);
  } catch {
    return false;
  }
  const key = await importVerifyKey(spki);
  return crypto.subtle.verify(RSA_SHA256, key, signature, new TextEncoder().encode(message));
}
