/**
 * The user page of the dashboard: GET /users/:id, a user's subscriptions with their invoices and grants.
 * Mounted by dashboard.tsx behind the session check; an id that is no UUID is the dashboard's 404.
 */
import { Hono } from "hono";
import { getDeps } from "../../../deps.ts";
import { userParam } from "../../schemas.ts";
import { type DashboardEnv, pageContext } from "../context.ts";
import { problem } from "../guards.tsx";
import { UserPage } from "./user.tsx";

export const userPages = new Hono<DashboardEnv>().get("/users/:id", async (c) => {
  const user = userParam.safeParse({ id: c.req.param("id") });
  if (!user.success) return c.notFound();
  const subscriptions = await getDeps(c.env).subscriptions.ofUser(user.data.id);
  if (!subscriptions.ok) return problem(c, 503, "unavailable");
  return c.html(
    <UserPage ctx={await pageContext(c)} userId={user.data.id} subscriptions={subscriptions.value} />,
  );
});
