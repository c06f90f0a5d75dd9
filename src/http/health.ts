/** `GET /health`: liveness for uptime checks and for payguard's own hourly check through its public URL. */
import { Hono } from "hono";
import { loadConfig } from "../env.ts";
import { VERSION } from "../version.ts";

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", (c) => {
  loadConfig(c.env); // a misconfigured deployment must not report healthy
  return c.json({ ok: true, version: VERSION });
});
