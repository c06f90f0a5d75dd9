/**
 * Proof that a `/health` answer came from this deployment: an HMAC of the probe's nonce and of the public
 * URL it was sent to, under a key derived from the deployment's admin secret with a purpose label (so the
 * key signs nothing else). Another deployment, a parked domain or a proxy's error page cannot compute
 * it, and every probe sends a fresh random nonce, so an old answer proves nothing. The hourly check
 * verifies with WebCrypto's HMAC verify, a constant-time comparison.
 */
import { toHex } from "../hex.ts";

const PROBE_KEY_LABEL = "payguard health probe v1";
/** Random bytes per probe nonce. */
export const PROBE_NONCE_BYTES = 32;
/** What `/health` accepts as a nonce: base64url, long enough to be unguessable, short enough to be cheap. */
export const PROBE_NONCE_PATTERN = /^[A-Za-z0-9_-]{22,128}$/;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function probeKey(secret: string): Promise<CryptoKey> {
  const cached = keys.get(secret);
  if (cached) return cached;
  const derived = (async () => {
    const hmac = { name: "HMAC", hash: "SHA-256" };
    const base = await crypto.subtle.importKey("raw", encoder.encode(secret), hmac, false, ["sign"]);
    const raw = await crypto.subtle.sign("HMAC", base, encoder.encode(PROBE_KEY_LABEL));
    return crypto.subtle.importKey("raw", raw, hmac, false, ["sign", "verify"]);
  })();
  keys.set(secret, derived);
  return derived;
}

const signed = (baseUrl: string, nonce: string) => encoder.encode(`${baseUrl}\n${nonce}`);

function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(text)) return null;
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

export function newProbeNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PROBE_NONCE_BYTES));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** What this deployment answers to `/health?probe=<nonce>` when reached at `baseUrl`. */
export async function probeProof(secret: string, baseUrl: string, nonce: string): Promise<string> {
  const key = await probeKey(secret);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, signed(baseUrl, nonce))));
}

/** Whether `proof` (anything an answer carried) is this deployment's proof for `nonce`. */
export async function proofMatches(
  secret: string,
  baseUrl: string,
  nonce: string,
  proof: unknown,
): Promise<boolean> {
  const bytes = typeof proof === "string" ? fromHex(proof) : null;
  if (!bytes) return false;
  return crypto.subtle.verify("HMAC", await probeKey(secret), bytes, signed(baseUrl, nonce));
}
