/**
 * Sign-in throttle for the dashboard: at most `SIGN_IN_LIMITER`'s budget of attempts per client IP a
 * minute, counted before the token is checked, so an address over the budget learns nothing, not even
 * from the right token. Admin tokens are long and random; this keeps a guessing script from hammering
 * the hash comparison and the logs.
 */

/** `clientAddress`: CF-Connecting-IP, which Cloudflare sets on every request that reaches the worker. */
export async function signInAllowed(env: Env, clientAddress: string | undefined): Promise<boolean> {
  const { success } = await env.SIGN_IN_LIMITER.limit({ key: `sign-in:${clientAddress ?? "unknown"}` });
  return success;
}
