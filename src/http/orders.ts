/**
 * Public order API. `GET /api/orders/:id` is what the success page polls, with the signed-in user's
 * access token: only the order's owner gets an answer (anyone else gets the same 404 as an unknown id).
 * A pending order is re-queried at the provider at once (the customer's redirect often beats the
 * webhook) and settled through its OrderGuard. The answer carries status and amounts only, never payer data.
 */
import { Hono } from "hono";
import { requireUser, type UserVariables } from "../auth/require-user.ts";
import { getDeps } from "../deps.ts";
import { settleOrder } from "../guard/settle-order.ts";
import type { Order } from "../ledger/types.ts";
import { providerApiFor } from "../providers/registry.ts";
import { failureResponse } from "./errors.ts";

const ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

const publicView = (order: Order) => ({
  id: order.id,
  status: order.status,
  amount_minor: order.amountMinor,
  currency: order.currency,
  credits: order.credits,
});

export const orderRoutes = new Hono<{ Bindings: Env; Variables: UserVariables }>().get(
  "/:id",
  requireUser,
  async (c) => {
    const orderId = c.req.param("id");
    if (!ORDER_ID_PATTERN.test(orderId))
      return failureResponse(c, { kind: "bad_request", detail: "order id format" });
    const deps = getDeps(c.env);
    const found = await deps.store.getOrder(orderId);
    if (!found.ok) return failureResponse(c, { kind: "unavailable", detail: found.error.message });
    const order = found.value;
    if (!order || order.userId.toLowerCase() !== c.var.userId.toLowerCase())
      return failureResponse(c, { kind: "not_found", detail: `order ${orderId}` });
    if (order.status !== "pending") return c.json(publicView(order));

    const nowMs = Date.now();
    const api = providerApiFor(deps, order.provider);
    const fact = api ? await api.queryOrder(order, nowMs) : null;
    // A provider hiccup must not break the success page: answer with what we know, the cron retries.
    if (!fact?.ok || fact.value.kind === "pending") return c.json(publicView(order));
    const settled = await settleOrder(c.env, fact.value, "confirm", nowMs);
    if (!settled.ok) return c.json(publicView(order));
    const after = await deps.store.getOrder(orderId);
    return c.json(publicView(after.ok && after.value ? after.value : order));
  },
);
