/**
 * AES-256-GCM decryption of notification resources: key = the 32-byte APIv3 key (UTF-8), iv = the
 * 12-character nonce (UTF-8), additional data = `associated_data`, ciphertext = base64(ct ‖ 16-byte tag).
 */
import { base64ToBytes } from "./encoding.ts";

const keys = new Map<string, Promise<CryptoKey>>();

function aesKey(apiV3Key: string): Promise<CryptoKey> {
  let key = keys.get(apiV3Key);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(apiV3Key), "AES-GCM", false, ["decrypt"]);
    keys.set(apiV3Key, key);
  }
  return key;
}

export interface EncryptedResource {
  ciphertext: string;
  nonce: string;
  associatedData: string;
}

/** The decrypted plaintext, or null when the ciphertext, nonce or associated data were tampered with. */
export async function decryptResource(resource: EncryptedResource, apiV3Key: string): Promise<string | null> {
  try {
    const plaintext = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: new TextEncoder().encode(resource.nonce),
        additionalData: new TextEncoder().encode(resource.associatedData),
        tagLength: 128,
      },
      await aesKey(apiV3Key),
      base64ToBytes(resource.ciphertext),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    return null;
  }
}
