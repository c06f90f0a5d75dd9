/**
 * `POST /api/checkout` with a `planId` (user token): a subscribe checkout (src/checkout/subscribe.ts),
 * answered 201 `{ url, sessionId }`. A middleware of the checkout route, in front of the one-off body's
 * validator: a body naming a plan is this route's, any other goes on to the one-off checkout.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { UserVariables } from "../auth/require-user.ts";
import { stripeForCheckout } from "../checkout/provider-session.ts";
import { parseIdempotencyKey } from "../checkout/request.ts";
import {
  runSubscribe,
  type SubscribeFailure,
  type SubscribeRequest,
  subscribeBodySchema,
} from "../checkout/subscribe.ts";
import { getDeps } from "../deps.ts";
import { log } from "../log.ts";
import { failureResponse, storeFailure } from "./errors.ts";
import { jsonBodyOf, rejectInvalid } from "./request-body.ts";

type CheckoutContext = Context<{ Bindings: Env; Variables: UserVariables }>;

/** How long a client should wait before retrying after Stripe failed. */
const SUBSCRIBE_RETRY_AFTER_S = 2;

function refused(c: CheckoutContext, failure: SubscribeFailure): Response {
  c.header("cache-control", "no-store");
  switch (failure.kind) {
    case "unknown_plan":
      return c.json({ error: failure.kind, message: "no such plan" }, 404);
    case "already_subscribed":
      return c.json(
        { error: failure.kind, message: "you already subscribe to this plan", retryable: false },
        409,
      );
    case "provider_failed":
      log("warn", "subscribe_provider_failed", { detail: failure.detail, retryable: failure.retryable });
      if (failure.retryable) c.header("retry-after", String(SUBSCRIBE_RETRY_AFTER_S));
      return c.json(
        { error: failure.kind, message: "payment provider failed", retryable: failure.retryable },
        502,
      );
    case "unavailable":
      return failureResponse(c, storeFailure(failure.error));
  }
}

async function subscribe(c: CheckoutContext, request: SubscribeRequest): Promise<Response> {
  const key = parseIdempotencyKey(c.req.header("idempotency-key"));
  if (!key.ok) return failureResponse(c, { kind: "bad_request", detail: "Idempotency-Key format" });
  const deps = getDeps(c.env);
  const stripe = stripeForCheckout(deps);
  const settings = deps.config.checkout.stripe;
  if (!stripe || !settings || !deps.config.providers.includes("stripe"))
    return failureResponse(c, { kind: "bad_request", detail: "subscriptions are not offered" });
  const result = await runSubscribe(deps.subscriptions, stripe, settings, {
    userId: c.var.userId,
    request,
    idempotencyKey: key.key,
  });
  if (!result.ok) return refused(c, result.error);
  c.header("cache-control", "no-store");
  return c.json(result.value, 201);
}

/** The subscribe checkout when the body names a plan; otherwise the next handler (a one-off checkout). */
export const subscribeWhenPlan: MiddlewareHandler<{ Bindings: Env; Variables: UserVariables }> = async (
  c,
  next,
) => {
  const body = await jsonBodyOf(c);
  if (typeof body !== "object" || body === null || !("planId" in body)) return next();
  const parsed = subscribeBodySchema.safeParse(body);
  if (!parsed.success) return rejectInvalid(parsed, c);
  return subscribe(c, parsed.data);
};
