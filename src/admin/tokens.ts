/**
 * Named admin bearer tokens, so every admin action is attributed to someone. `ADMIN_TOKENS` holds
 * `name:<sha256 hex>` pairs (only hashes are configured); `ADMIN_TOKEN` stays valid as the token named
 * `admin`. A presented token is hashed and compared with every configured hash in constant time.
 */
import { ConfigError } from "../env.ts";

export interface AdminTokens {
  /** name → SHA-256 of the token, 32 bytes. */
  hashes: Array<{ name: string; hash: Uint8Array }>;
}

const TOKEN_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
/** The name `ADMIN_TOKEN` is attributed to. */
export const LEGACY_TOKEN_NAME = "admin";

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

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
    const hashes = [...list.entries];
    if (legacy && !hashes.some((entry) => entry.name === LEGACY_TOKEN_NAME)) {
      hashes.push({ name: LEGACY_TOKEN_NAME, hash: await sha256(legacy) });
    }
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

/** The name of the token presented, or null. Every configured hash is compared, match or not. */
export async function identify(tokens: AdminTokens, presented: string): Promise<string | null> {
  if (!presented) return null;
  const hash = await sha256(presented);
  let actor: string | null = null;
  for (const entry of tokens.hashes) {
    if (equalBytes(entry.hash, hash) && actor === null) actor = entry.name;
  }
  return actor;
}
