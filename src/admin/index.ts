/**
 * Everything under /admin: the JSON API (bearer tokens) and the dashboard (session cookie). An unknown
 * API path stays a JSON 404 (after the bearer check); every other unknown path is the dashboard's page.
 */
import { Hono } from "hono";
import { adminApi } from "./api/index.ts";
import { dashboard } from "./ui/dashboard.tsx";

export const adminRoutes = new Hono<{ Bindings: Env }>()
  .route("/api", adminApi)
  .all("/api/*", (c) => c.notFound())
  .route("/", dashboard);
