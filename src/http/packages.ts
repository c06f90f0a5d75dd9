/**
 * `GET /api/packages`: what can be bought, public: the one-off packages and the plans one subscribes to. Cached briefly by browsers and CDNs: prices change
 * rarely, and the remaining stock shown is a hint (checkout itself never oversells).
 */
import { Hono } from "hono";
import { getDeps } from "../deps.ts";
import { failureResponse, storeFailure } from "./errors.ts";

export const PACKAGES_CACHE_MAX_AGE_S = 30;

export const packageRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const deps = getDeps(c.env);
  const [listed, plans] = await Promise.all([deps.checkout.listPackages(), deps.subscriptions.listPlans()]);
  if (!listed.ok) return failureResponse(c, storeFailure(listed.error));
  if (!plans.ok) return failureResponse(c, storeFailure(plans.error));
  c.header("cache-control", `public, max-age=${PACKAGES_CACHE_MAX_AGE_S}`);
  return c.json({ packages: listed.value, plans: plans.value });
});
