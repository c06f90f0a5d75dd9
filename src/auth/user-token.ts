/**
 * Verifies a Supabase Auth access token. Asymmetric tokens (ES256 / RS256) are checked against the
 * project's JWKS; legacy HS256 tokens only when the project's JWT secret is configured. Claims must be
 * those of a signed-in user of this project: `iss` = <SUPABASE_URL>/auth/v1, `aud` = `role` =
 * `authenticated`, an unexpired `exp` and a `sub`. The crypto is jose's.
 */
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import { err, ok, type Result } from "../ledger/result.ts";
import type { JwksCache } from "./jwks.ts";

export const USER_TOKEN_AUDIENCE = "authenticated";
export const USER_TOKEN_ROLE = "authenticated";
export const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"] as const;
export const LEGACY_ALGORITHM = "HS256";
/** Longest token accepted; real access tokens are about 1 KB. */
export const USER_TOKEN_LENGTH_MAX = 8 * 1024;

export interface UserTokenSettings {
  supabaseUrl: string;
  /** Legacy HS256 secret; null turns the fallback off. */
  jwtSecret: string | null;
}

/** `keys_unavailable` is transient (JWKS unreachable, nothing cached); every other kind is the caller's fault. */
export type UserTokenFailure = { kind: "invalid" | "keys_unavailable"; detail: string };

function headerOf(token: string): { alg?: string; kid?: string } | null {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return null;
  }
}

async function verified(
  token: string,
  header: { alg?: string; kid?: string },
  settings: UserTokenSettings,
  jwks: JwksCache,
  nowMs: number,
): Promise<Result<JWTPayload, UserTokenFailure>> {
  const options = {
    issuer: `${settings.supabaseUrl}/auth/v1`,
    audience: USER_TOKEN_AUDIENCE,
    requiredClaims: ["exp", "sub"],
    currentDate: new Date(nowMs),
  };
  try {
    if (header.alg === LEGACY_ALGORITHM) {
      if (!settings.jwtSecret) return err({ kind: "invalid", detail: "HS256 without the legacy secret" });
      const secret = new TextEncoder().encode(settings.jwtSecret);
      return ok((await jwtVerify(token, secret, { ...options, algorithms: [LEGACY_ALGORITHM] })).payload);
    }
    if (!ASYMMETRIC_ALGORITHMS.some((alg) => alg === header.alg))
      return err({ kind: "invalid", detail: `algorithm ${String(header.alg)}` });
    const keys = await jwks.keySetFor(header.kid, nowMs);
    if (!keys) return err({ kind: "keys_unavailable", detail: "JWKS unreachable" });
    const algorithms = [...ASYMMETRIC_ALGORITHMS];
    return ok((await jwtVerify(token, keys, { ...options, algorithms })).payload);
  } catch (error) {
    return err({ kind: "invalid", detail: (error as { code?: string }).code ?? "verification failed" });
  }
}

/** The user id (`sub`) of a valid access token. */
export async function verifyUserToken(
  token: string,
  settings: UserTokenSettings,
  jwks: JwksCache,
  nowMs: number,
): Promise<Result<string, UserTokenFailure>> {
  if (token.length > USER_TOKEN_LENGTH_MAX) return err({ kind: "invalid", detail: "token too long" });
  const header = headerOf(token);
  if (!header) return err({ kind: "invalid", detail: "malformed token" });
  const payload = await verified(token, header, settings, jwks, nowMs);
  if (!payload.ok) return payload;
  if (payload.value.role !== USER_TOKEN_ROLE) return err({ kind: "invalid", detail: "role" });
  const sub = payload.value.sub;
  if (typeof sub !== "string" || sub === "") return err({ kind: "invalid", detail: "sub" });
  return ok(sub);
}
