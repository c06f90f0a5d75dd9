/**
 * CORS for the app-facing `/api/*` routes. A browser app on another origin calls checkout and the order
 * status with the user's bearer token; only the origins named in `APP_ORIGINS` may read the answers.
 * No cookies are involved (credentials stay off), so a listed origin gains nothing a token does not give.
 * Webhooks, `/health` and the console never answer cross-origin.
 */
import { cors } from "hono/cors";
import { loadConfig } from "../env.ts";

const PREFLIGHT_CACHE_S = 600;

export const appCors = cors({
  origin: (origin, c) => (loadConfig(c.env).appOrigins.includes(origin) ? origin : null),
  allowMethods: ["GET", "POST"],
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
  maxAge: PREFLIGHT_CACHE_S,
});
