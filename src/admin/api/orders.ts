/**
 * Orders: search and detail (reads), and the per-order actions (sync, repair, expire, refund, resolve
 * review), plus a bounded sync of a filtered set. Every POST needs a reason and is attributed.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { expire, refund, repair, resolveReview, syncOrder, syncOrders } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, orderParam, unavailable, valid } from "../http.ts";
import {
  orderSearch,
  reasonOnly,
  refundInput,
  repairInput,
  resolveReviewInput,
  syncMany,
} from "../schemas.ts";

export const ordersApi = new Hono<AdminEnv>()
  .get("/", valid("query", orderSearch), async (c) => {
    const search = c.req.valid("query");
    const found = await getDeps(c.env).admin.searchOrders(search);
    if (!found.ok) return unavailable(c, found.error.message);
    return c.json({ ...found.value, limit: search.limit, offset: search.offset });
  })
  .post("/sync", valid("json", syncMany), async (c) => {
    const { reason, ...filter } = c.req.valid("json");
    const synced = await syncOrders(actionContext(c, reason), filter);
    if (!synced.ok) return unavailable(c, synced.error.detail);
    return c.json({ results: synced.results });
  })
  .get("/:id", valid("param", orderParam), async (c) => {
    const { id } = c.req.valid("param");
    const detail = await getDeps(c.env).admin.orderDetail(id);
    if (!detail.ok) return unavailable(c, detail.error.message);
    if (!detail.value) return c.json({ error: "not_found", message: "not found" }, 404);
    return c.json(detail.value);
  })
  .post("/:id/sync", valid("param", orderParam), valid("json", reasonOnly), async (c) => {
    const ctx = actionContext(c, c.req.valid("json").reason);
    return actionResponse(c, await syncOrder(ctx, c.req.valid("param").id));
  })
  .post("/:id/repair", valid("param", orderParam), valid("json", repairInput), async (c) => {
    const { reason, kind } = c.req.valid("json");
    return actionResponse(c, await repair(actionContext(c, reason), c.req.valid("param").id, kind));
  })
  .post("/:id/expire", valid("param", orderParam), valid("json", reasonOnly), async (c) => {
    const ctx = actionContext(c, c.req.valid("json").reason);
    return actionResponse(c, await expire(ctx, c.req.valid("param").id));
  })
  .post("/:id/refund", valid("param", orderParam), valid("json", refundInput), async (c) => {
    const { reason, amount_minor, payment_ref } = c.req.valid("json");
    const result = await refund(
      actionContext(c, reason),
      c.req.valid("param").id,
      amount_minor ?? null,
      payment_ref ?? null,
    );
    return actionResponse(c, result);
  })
  .post("/:id/resolve-review", valid("param", orderParam), valid("json", resolveReviewInput), async (c) => {
    const { reason, resolution } = c.req.valid("json");
    return actionResponse(
      c,
      await resolveReview(actionContext(c, reason), c.req.valid("param").id, resolution),
    );
  });
