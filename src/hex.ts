/**
 * Bytes as lower-case hex, and the hex digests payguard keys things by (session storage keys, request
 * hashes, ids of unusable events, nonces). A leaf: WebCrypto only.
 */
export const toHex = (bytes: Uint8Array | ArrayBuffer): string =>
  Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");

export const sha256Hex = async (text: string): Promise<string> =>
  toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

/** `byteCount` random bytes as hex (a nonce). */
export const randomHex = (byteCount: number): string =>
  toHex(crypto.getRandomValues(new Uint8Array(byteCount)));
