/**
 * Sign-in throttle for the dashboard: at most `SIGN_IN_LIMITER`'s budget of attempts per client IP a
 * minute, counted before the token is checked, so an address over the budget learns nothing, not even
 * from the right token. Admin tokens are long and random; this keeps a guessing script from hammering
 * the hash comparison and the logs.
 */
import type { Context } from "hono";

/** Cloudflare sets CF-Connecting-IP on every request that reaches the worker; a client cannot forge it. */
const clientAddress = (c: Context) => c.req.header("cf-connecting-ip") ?? "unknown";

export async function signInAllowed(c: Context<{ Bindings: Env }>): Promise<boolean> {
  const { success } = await c.env.SIGN_IN_LIMITER.limit({ key: `sign-in:${clientAddress(c)}` });
  return success;
}
