/**
 * The order pages of the dashboard: GET /orders (search and list) and GET /orders/:id (one order). Mounted
 * by dashboard.tsx behind the session check; the forms they show post to the action routes.
 */
import { Hono } from "hono";
import { getDeps } from "../../../deps.ts";
import { ORDER_ID } from "../../http.ts";
import { orderSearch } from "../../schemas.ts";
import { type DashboardEnv, langFor, pageContext } from "../context.ts";
import { problem } from "../guards.tsx";
import { WORDS } from "../i18n.ts";
import { zonedRange } from "./dates.ts";
import { OrderPage } from "./order.tsx";
import { OrdersPage } from "./orders.tsx";

/** Rows per page when the query gives no valid limit. */
const ORDERS_PAGE_DEFAULT = 50;

const admin = (c: { env: Env }) => getDeps(c.env).admin;

export const orderPages = new Hono<DashboardEnv>()
  .get("/orders", async (c) => {
    const parsed = orderSearch.safeParse(c.req.query());
    const search = parsed.success ? parsed.data : { limit: ORDERS_PAGE_DEFAULT, offset: 0 };
    const ctx = await pageContext(c);
    // Days are the operator's days: midnight in their zone, `to` inclusive.
    const found = await admin(c).searchOrders({ ...search, ...zonedRange(search, ctx.timeZone) });
    if (!found.ok) return problem(c, 503, "unavailable");
    if (!parsed.success)
      ctx.flash = {
        ok: false,
        text: `${WORDS[langFor(c)].failed}: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`,
      };
    return c.html(
      <OrdersPage ctx={ctx} search={search} total={found.value.total} orders={found.value.orders} />,
    );
  })
  .get("/orders/:id", async (c) => {
    const id = ORDER_ID.safeParse(c.req.param("id"));
    if (!id.success) return c.notFound();
    const detail = await admin(c).orderDetail(id.data);
    if (!detail.ok) return problem(c, 503, "unavailable");
    if (!detail.value) return c.notFound();
    return c.html(<OrderPage ctx={await pageContext(c)} order={detail.value} />);
  });
