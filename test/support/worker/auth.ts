/**
 * User access tokens for integration tests, minted by the Supabase stand-in (signed with its published
 * JWKS keys, issuer `<stand-in>/auth/v1`), so the worker verifies them exactly as it would real ones.
 */
import { inject } from "vitest";

export interface UserTokenOptions {
  alg?: "ES256" | "RS256" | "HS256";
  /** Lifetime in seconds from now; negative gives an expired token. Default one hour. */
  expiresInS?: number;
  /** Overrides of the standard claims, e.g. `{ aud: "other" }`. */
  claims?: Record<string, unknown>;
}

async function control<T>(path: string, body: unknown): Promise<T> {
  const { url, secretKey } = inject("standIn");
  const response = await fetch(`${url}/__standin/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`stand-in ${path} failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function userToken(userId: string, options: UserTokenOptions = {}): Promise<string> {
  return (await control<{ token: string }>("user-token", { userId, ...options })).token;
}

/** `{ authorization: "Bearer <token>" }` for `userId`. */
export async function userHeaders(
  userId: string,
  options?: UserTokenOptions,
): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await userToken(userId, options)}` };
}

/** New ES256 / RS256 signing keys at the stand-in; tokens minted afterwards carry the new kids. */
export function rotateSigningKeys(): Promise<{ ES256: string; RS256: string }> {
  return control("rotate-signing-keys", {});
}
