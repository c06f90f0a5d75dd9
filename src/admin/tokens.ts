/**
 * Named admin bearer tokens, so every admin action is attributed to someone. `ADMIN_TOKENS` holds
 * `name:<sha256 hex>` pairs (only hashes are configured); `ADMIN_TOKEN` stays valid as the token named
 * `admin`. A presented token is hashed and compared with every configured hash in constant time.
 * A dashboard session remembers a fingerprint of the hash it signed in with (never the hash itself) and
 * is re-checked against the configured hashes on every request: removing or changing a token ends it.
 */
import { ConfigError } from "../env.ts";

export interface TokenEntry {
  name: string;
  /** SHA-256 of the token, 32 bytes. */
  hash: Uint8Array;
  /** What a session stores about the token it signed in with: see `tokenFingerprint`. */
  fingerprint: Uint8Array;
}

export interface AdminTokens {
  hashes: TokenEntry[];
}

const TOKEN_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
/** The name `ADMIN_TOKEN` is attributed to. */
export const LEGACY_TOKEN_NAME = "admin";

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

const FINGERPRINT_LABEL = new TextEncoder().encode("payguard admin session token v1:");

/** SHA-256 of a purpose label and the token's hash: names the token a session used without storing its hash. */
export async function tokenFingerprint(hash: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(FINGERPRINT_LABEL.length + hash.length);
  input.set(FINGERPRINT_LABEL);
  input.set(hash, FINGERPRINT_LABEL.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input));
}

export const fromHex = (hex: string) =>
  Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

export function parseAdminTokenList(
  raw: string,
): { ok: true; entries: Array<{ name: string; hash: Uint8Array }> } | { ok: false; problem: string } {
  const entries: Array<{ name: string; hash: Uint8Array }> = [];
  for (const item of raw
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name = "", hex = ""] = item.split(":").map((part) => part.trim());
    if (!TOKEN_NAME_PATTERN.test(name) || !SHA256_HEX_PATTERN.test(hex.toLowerCase())) {
      return { ok: false, problem: "ADMIN_TOKENS must be name:<sha256 hex> pairs separated by commas" };
    }
    if (entries.some((entry) => entry.name === name)) {
      return { ok: false, problem: `ADMIN_TOKENS names ${name} twice` };
    }
    entries.push({ name, hash: fromHex(hex.toLowerCase()) });
  }
  return { ok: true, entries };
}

const parsed = new WeakMap<object, Promise<AdminTokens>>();

/** Built once per isolate from the raw bindings; a malformed ADMIN_TOKENS answers 500 naming the problem. */
export function adminTokens(env: object): Promise<AdminTokens> {
  const cached = parsed.get(env);
  if (cached) return cached;
  const build = async (): Promise<AdminTokens> => {
    const raw = env as Record<string, unknown>;
    const list = parseAdminTokenList(typeof raw.ADMIN_TOKENS === "string" ? raw.ADMIN_TOKENS : "");
    if (!list.ok) throw new ConfigError([list.problem]);
    const legacy = typeof raw.ADMIN_TOKEN === "string" ? raw.ADMIN_TOKEN.trim() : "";
    const named = [...list.entries];
    if (legacy && !named.some((entry) => entry.name === LEGACY_TOKEN_NAME)) {
      named.push({ name: LEGACY_TOKEN_NAME, hash: await sha256(legacy) });
    }
    const hashes = await Promise.all(
      named.map(async (entry) => ({ ...entry, fingerprint: await tokenFingerprint(entry.hash) })),
    );
    return { hashes };
  };
  const promise = build();
  parsed.set(env, promise);
  return promise;
}

/** Equal-length byte comparison that touches every byte whatever the content. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The configured token presented, or null. Every configured hash is compared, match or not. */
export async function identifyToken(tokens: AdminTokens, presented: string): Promise<TokenEntry | null> {
  if (!presented) return null;
  const hash = await sha256(presented);
  let found: TokenEntry | null = null;
  for (const entry of tokens.hashes) {
    if (equalBytes(entry.hash, hash) && found === null) found = entry;
  }
  return found;
}

/** The name of the token presented, or null. */
export async function identify(tokens: AdminTokens, presented: string): Promise<string | null> {
  return (await identifyToken(tokens, presented))?.name ?? null;
}

/**
 * Whether a session signed in as `actor` with the token of `fingerprint` may still act: that name must
 * still be configured with that same token. Every entry is compared, match or not.
 */
export function tokenStillConfigured(tokens: AdminTokens, actor: string, fingerprint: Uint8Array): boolean {
  let found = false;
  for (const entry of tokens.hashes) {
    const same = equalBytes(entry.fingerprint, fingerprint);
    if (same && entry.name === actor) found = true;
  }
  return found;
}
