/**
 * The Supabase project's JWT signing keys, read from Auth's JWKS endpoint and cached per isolate. The
 * set is re-read when its TTL runs out, and early when a token names a `kid` the cached set lacks (a key
 * was rotated in), at most once per cooldown so tokens with made-up `kid`s cannot hammer the endpoint.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** Supabase caches its JWKS at the edge for about 10 minutes; keys are announced before they sign. */
export const JWKS_CACHE_TTL_MS = 10 * 60_000;
/** An unknown `kid` forces a re-read only this often. */
export const JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS = 30_000;
export const JWKS_FETCH_TIMEOUT_MS = 5_000;

export const jwksUrl = (supabaseUrl: string): string => `${supabaseUrl}/auth/v1/.well-known/jwks.json`;

interface CachedSet {
  keys: JWTVerifyGetKey;
  kids: Set<string>;
  fetchedAtMs: number;
}

export interface JwksCache {
  /** The key set to verify a token whose header names `kid`; null when it cannot be read and none is cached. */
  keySetFor(kid: string | undefined, nowMs: number): Promise<JWTVerifyGetKey | null>;
}

async function fetchSet(url: string, nowMs: number): Promise<CachedSet | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
    if (!response.ok) return null;
    const body = (await response.json()) as JSONWebKeySet;
    if (!Array.isArray(body.keys)) return null;
    const kids = new Set(body.keys.map((key) => key.kid).filter((kid): kid is string => Boolean(kid)));
    return { keys: createLocalJWKSet(body), kids, fetchedAtMs: nowMs };
  } catch {
    return null;
  }
}

export function createJwksCache(url: string): JwksCache {
  let cached: CachedSet | null = null;
  let lastUnknownKidRefetchMs = Number.NEGATIVE_INFINITY;
  return {
    async keySetFor(kid, nowMs) {
      const expired = !cached || nowMs - cached.fetchedAtMs >= JWKS_CACHE_TTL_MS;
      const unknownKid =
        cached !== null &&
        kid !== undefined &&
        !cached.kids.has(kid) &&
        nowMs - lastUnknownKidRefetchMs >= JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS;
      if (unknownKid) lastUnknownKidRefetchMs = nowMs;
      if (expired || unknownKid) {
        // A failed re-read keeps the stale set: Auth being briefly unreachable must not log everyone out.
        cached = (await fetchSet(url, nowMs)) ?? cached;
      }
      return cached?.keys ?? null;
    },
  };
}
