/** Everything under /admin: the JSON API (bearer tokens) and the dashboard (session cookie). */
import { Hono } from "hono";
import { adminApi } from "./api/index.ts";
import { dashboard } from "./ui/dashboard.tsx";

export const adminRoutes = new Hono<{ Bindings: Env }>().route("/api", adminApi).route("/", dashboard);
