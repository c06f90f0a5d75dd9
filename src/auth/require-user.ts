/**
 * Hono middleware for the app-facing routes: the caller must send the signed-in user's Supabase access
 * token (`Authorization: Bearer …`). A missing or invalid token gets one generic 401 before any handler
 * work (no database or provider call); a valid one sets `c.var.userId` to the token's `sub`.
 */
import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../env.ts";
import { failureResponse } from "../http/errors.ts";
import { createJwksCache, type JwksCache, jwksUrl } from "./jwks.ts";
import { verifyUserToken } from "./user-token.ts";

export type UserVariables = { userId: string };

/** One JWKS cache per Supabase URL per isolate. */
const caches = new Map<string, JwksCache>();

function jwksFor(supabaseUrl: string): JwksCache {
  let cache = caches.get(supabaseUrl);
  if (!cache) {
    cache = createJwksCache(jwksUrl(supabaseUrl));
    caches.set(supabaseUrl, cache);
  }
  return cache;
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

export const requireUser: MiddlewareHandler<{ Bindings: Env; Variables: UserVariables }> = async (
  c,
  next,
) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) return failureResponse(c, { kind: "unauthorized", detail: "no bearer token" });
  const config = loadConfig(c.env);
  const settings = { supabaseUrl: config.supabaseUrl, jwtSecret: config.supabaseJwtSecret };
  const user = await verifyUserToken(token, settings, jwksFor(config.supabaseUrl), Date.now());
  if (!user.ok) {
    const kind = user.error.kind === "keys_unavailable" ? "unavailable" : "unauthorized";
    return failureResponse(c, { kind, detail: `user token: ${user.error.detail}` });
  }
  c.set("userId", user.value);
  await next();
};
