/**
 * `POST /api/checkout` (user token): writes the order first, then the provider session, and answers
 * what the page needs to pay: a Stripe Checkout `url`, a Stripe PaymentIntent's `clientSecret` for the
 * Payment Element, a WeChat Native `codeUrl`, or signed JSAPI `payParams`. An `Idempotency-Key` makes a
 * retry return the same order and session. A body naming a `planId` subscribes instead (./subscribe.ts).
 */
import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requireUser, type UserVariables } from "../auth/require-user.ts";
import { type CheckoutFailure, runCheckout } from "../checkout/checkout.ts";
import type { PublicLimits } from "../checkout/limits.ts";
import { providerSessions } from "../checkout/provider-session.ts";
import {
  type CheckoutRequest,
  checkoutBodySchema,
  parseIdempotencyKey,
  requestHash,
} from "../checkout/request.ts";
import type { UserLimit } from "../checkout/store.ts";
import { getDeps } from "../deps.ts";
import type { Config } from "../env.ts";
import { log } from "../log.ts";
import { failureResponse, storeFailure } from "./errors.ts";
import { rejectInvalid, requireJson } from "./request-body.ts";
import { subscribeWhenPlan } from "./subscribe.ts";

export const CHECKOUT_BODY_MAX_BYTES = 4096;
/** How long a client should wait before retrying after the provider failed. */
export const CHECKOUT_RETRY_AFTER_S = 2;

/**
 * A PaymentIntent needs only the Stripe keys; a Checkout Session also needs the app's success and cancel
 * pages (the Payment Element's return URL is the app's own, given in the browser).
 */
function offered(config: Config, request: CheckoutRequest): boolean {
  if (!config.providers.includes(request.provider)) return false;
  if (request.provider === "wechatpay") return config.wechat !== null;
  return request.flow === "payment_intent" ? config.stripe !== null : config.checkout.stripe !== null;
}

/** Each checkout limit's configured value, and what the refusal tells the customer they already have. */
const LIMITS: Record<UserLimit, { configured: (limits: PublicLimits) => number; what: string }> = {
  package_pending_limit: {
    configured: (limits) => limits.pendingPerUserPackageMax,
    what: "unpaid checkouts of this package: pay one or wait until one expires",
  },
  pending_limit: {
    configured: (limits) => limits.pendingPerUserMax,
    what: "unpaid checkouts: pay one or wait until one expires",
  },
  stock_per_user_limit: {
    configured: (limits) => limits.stockPerUserMax,
    what: "units of this limited package, the most one customer may hold",
  },
};

/**
 * 409 like a sold-out package: the refusal lasts until the user pays or an order expires (the order TTL),
 * so there is no Retry-After; `limit` is the configured value.
 */
function limitReached(c: Context, limit: UserLimit, limits: PublicLimits): Response {
  const value = LIMITS[limit].configured(limits);
  log("warn", "checkout_limit_reached", { limit, value });
  return c.json(
    {
      error: limit,
      message: `you already have ${value} ${LIMITS[limit].what}`,
      limit: value,
      retryable: false,
    },
    409,
  );
}

function failed(c: Context, failure: CheckoutFailure, limits: PublicLimits): Response {
  c.header("cache-control", "no-store");
  switch (failure.kind) {
    case "idempotency_conflict":
      return c.json(
        { error: failure.kind, message: "this Idempotency-Key was used with another request" },
        409,
      );
    case "unknown_package":
      return c.json({ error: failure.kind, message: "no such package" }, 404);
    case "out_of_stock":
      return c.json({ error: failure.kind, message: "sold out" }, 409);
    case "currency_not_supported":
      return c.json({ error: failure.kind, message: "this package cannot be paid with this provider" }, 400);
    case "sales_paused":
      // 409, not 503: the service is up and the refusal lasts until an operator resumes sales, so a
      // client must not retry on its own (no Retry-After); it shows the message instead.
      return c.json(
        { error: failure.kind, message: "sales of this package are paused", retryable: false },
        409,
      );
    case "limit_reached":
      return limitReached(c, failure.limit, limits);
    case "order_closed":
      return c.json({ error: failure.kind, message: "the order for this Idempotency-Key is closed" }, 409);
    case "provider_failed":
      log("warn", "checkout_provider_failed", { detail: failure.detail, retryable: failure.retryable });
      if (failure.retryable) c.header("retry-after", String(CHECKOUT_RETRY_AFTER_S));
      return c.json(
        { error: failure.kind, message: "payment provider failed", retryable: failure.retryable },
        502,
      );
    case "unavailable":
      return failureResponse(c, storeFailure(failure.error));
  }
}

export const checkoutRoutes = new Hono<{ Bindings: Env; Variables: UserVariables }>().post(
  "/",
  bodyLimit({
    maxSize: CHECKOUT_BODY_MAX_BYTES,
    onError: (c) => failureResponse(c, { kind: "payload_too_large", detail: "checkout body" }),
  }),
  requireUser,
  subscribeWhenPlan,
  requireJson(zValidator("json", checkoutBodySchema, rejectInvalid)),
  async (c) => {
    const key = parseIdempotencyKey(c.req.header("idempotency-key"));
    if (!key.ok) return failureResponse(c, { kind: "bad_request", detail: "Idempotency-Key format" });
    const request = c.req.valid("json");
    const deps = getDeps(c.env);
    if (!offered(deps.config, request)) {
      return failureResponse(c, { kind: "bad_request", detail: `provider ${request.provider} not offered` });
    }
    const result = await runCheckout(deps.checkout, providerSessions(deps, deps.config.checkout), {
      userId: c.var.userId,
      request,
      idempotencyKey: key.key,
      requestHash: await requestHash(request),
      expiresInS: deps.config.checkout.orderTtlS,
      limits: deps.config.checkout.limits,
      nowMs: Date.now(),
    });
    if (!result.ok) return failed(c, result.error, deps.config.checkout.limits);
    c.header("cache-control", "no-store");
    if (result.value.replayed) c.header("idempotent-replayed", "true");
    return c.json(result.value.answer, result.value.replayed ? 200 : 201);
  },
);
