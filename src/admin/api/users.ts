/** Users: one user's subscriptions, newest first, each with every recorded invoice and its grant (a read). */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { type AdminEnv, unavailable, valid } from "../http.ts";
import { userParam } from "../schemas.ts";

export const usersApi = new Hono<AdminEnv>().get(
  "/:id/subscriptions",
  valid("param", userParam),
  async (c) => {
    const { id } = c.req.valid("param");
    const subscriptions = await getDeps(c.env).subscriptions.ofUser(id);
    if (!subscriptions.ok) return unavailable(c, subscriptions.error.message);
    return c.json({ userId: id, subscriptions: subscriptions.value });
  },
);
