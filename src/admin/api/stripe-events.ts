/** POST /admin/api/stripe/events/:id/replay: fetch a Stripe event by id and apply it like a delivery. */
import { Hono } from "hono";
import { replayStripeEvent } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, valid } from "../http.ts";
import { eventParam, reasonOnly } from "../schemas.ts";

export const stripeEventsApi = new Hono<AdminEnv>().post(
  "/:id/replay",
  valid("param", eventParam),
  valid("json", reasonOnly),
  async (c) => {
    const ctx = actionContext(c, c.req.valid("json").reason);
    return actionResponse(c, await replayStripeEvent(ctx, c.req.valid("param").id));
  },
);
