/**
 * HS256 JWTs for the local stand-in: the same shape Supabase issues (`role`, `sub`, `exp`), signed and
 * checked with node:crypto. Signatures are compared in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type JwtClaims = Record<string, unknown> & { role?: string; exp?: number };

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

function signature(secret: string, data: string): Buffer {
  return createHmac("sha256", secret).update(data).digest();
}

export function signJwt(claims: JwtClaims, secret: string): string {
  const data = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}`;
  return `${data}.${signature(secret, data).toString("base64url")}`;
}

/** The claims of a valid, unexpired token; null for anything else. */
export function verifyJwt(token: string, secret: string, nowMs: number): JwtClaims | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [header, payload, sig] = parts as [string, string, string];
  const expected = signature(secret, `${header}.${payload}`);
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as JwtClaims;
    if (typeof claims.exp === "number" && claims.exp * 1000 <= nowMs) return null;
    return claims;
  } catch {
    return null;
  }
}
