/**
 * Throttles on guessing admin tokens, per client IP (CF-Connecting-IP, which Cloudflare sets on every
 * request that reaches the worker), over Cloudflare's rate-limit bindings.
 *
 * Dashboard sign-in (`SIGN_IN_LIMITER`): every attempt is counted before the token is checked, so an
 * address over the budget learns nothing, not even from the right token.
 *
 * Admin API (`ADMIN_API_LIMITER`): only wrong bearer tokens are counted, after the check; over the budget
 * a wrong token is answered 429 instead of 401, and a right one still passes, so a script with a good
 * token is never locked out by a neighbour behind the same address. That bounds how much a guessing
 * script costs in hashing and logs; what makes guessing hopeless is the tokens' length (src/env.ts).
 */

/** Seconds a refused client is told to wait: the limiters' period (wrangler.toml). */
export const THROTTLE_RETRY_AFTER_S = 60;

/** The part of a rate-limit binding this uses. */
interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

const keyOf = (purpose: string, clientAddress: string | undefined) =>
  `${purpose}:${clientAddress ?? "unknown"}`;

export async function signInAllowed(
  env: { SIGN_IN_LIMITER: Limiter },
  clientAddress: string | undefined,
): Promise<boolean> {
  const { success } = await env.SIGN_IN_LIMITER.limit({ key: keyOf("sign-in", clientAddress) });
  return success;
}

/** Counts one wrong bearer token from this address; false once the address is over its budget. */
export async function wrongTokenAllowed(
  env: { ADMIN_API_LIMITER: Limiter },
  clientAddress: string | undefined,
): Promise<boolean> {
  const { success } = await env.ADMIN_API_LIMITER.limit({ key: keyOf("admin-api", clientAddress) });
  return success;
}
