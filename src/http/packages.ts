/**
 * `GET /api/packages`: what can be bought, public. Cached briefly by browsers and CDNs: prices change
 * rarely, and the remaining stock shown is a hint (checkout itself never oversells).
 */
import { Hono } from "hono";
import { getDeps } from "../deps.ts";
import { failureResponse, storeFailure } from "./errors.ts";

export const PACKAGES_CACHE_MAX_AGE_S = 30;

export const packageRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const listed = await getDeps(c.env).checkout.listPackages();
  if (!listed.ok) return failureResponse(c, storeFailure(listed.error));
  c.header("cache-control", `public, max-age=${PACKAGES_CACHE_MAX_AGE_S}`);
  return c.json({ packages: listed.value });
});
