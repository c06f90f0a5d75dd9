/**
 * Bearer authentication of the admin API: the token names the actor (src/admin/tokens.ts). A right token
 * always passes and is never counted; a wrong one counts against its address, and over the budget it is
 * answered 429 with Retry-After instead of 401 (src/admin/ui/sign-in-limit.ts).
 */
import type { MiddlewareHandler } from "hono";
import { log } from "../../log.ts";
import type { AdminEnv } from "../http.ts";
import { adminTokens, identify } from "../tokens.ts";
import { THROTTLE_RETRY_AFTER_S, wrongTokenAllowed } from "../ui/sign-in-limit.ts";

const BEARER_PATTERN = /^Bearer\s+(\S+)$/i;

export const requireBearer: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const match = BEARER_PATTERN.exec(c.req.header("authorization") ?? "");
  const actor = match?.[1] ? await identify(await adminTokens(c.env), match[1]) : null;
  if (!actor) {
    const throttled = match ? !(await wrongTokenAllowed(c.env, c.req.header("cf-connecting-ip"))) : false;
    log("warn", "admin_unauthorized", { path: c.req.path, presented: Boolean(match), throttled });
    if (throttled) {
      c.header("retry-after", String(THROTTLE_RETRY_AFTER_S));
      return c.json({ error: "too_many_requests", message: "too many wrong tokens from this address" }, 429);
    }
    return c.json({ error: "unauthorized", message: "a valid admin bearer token is required" }, 401);
  }
  c.set("actor", actor);
  await next();
};
