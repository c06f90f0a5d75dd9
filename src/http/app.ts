/** The Hono app: one router per resource, mounted here; errors mapped in one place. */
import { Hono } from "hono";
import { adminRoutes } from "../admin/index.ts";
import { doctorOnFirstRequest } from "../ops/first-request.ts";
import { checkoutRoutes } from "./checkout.ts";
import { appCors } from "./cors.ts";
import { onError, onNotFound } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { orderRoutes } from "./orders.ts";
import { packageRoutes } from "./packages.ts";
import { slackInteractionRoutes } from "./slack-interactions.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { stripeWebhookRoutes } from "./webhooks-stripe.ts";
import { wechatWebhookRoutes } from "./webhooks-wechatpay.ts";

export function createApp() {
  return new Hono<{ Bindings: Env }>()
    .use("/api/*", appCors)
    .use("*", async (c, next) => {
      doctorOnFirstRequest(c.env, c.executionCtx);
      await next();
    })
    .route("/health", healthRoutes)
    .route("/webhooks/stripe", stripeWebhookRoutes)
    .route("/webhooks/wechatpay", wechatWebhookRoutes)
    .route("/api/orders", orderRoutes)
    .route("/admin", adminRoutes)
    .route("/api/packages", packageRoutes)
    .route("/api/checkout", checkoutRoutes)
    .route("/api/subscriptions", subscriptionRoutes)
    .route("/slack/interactions", slackInteractionRoutes)
    .onError(onError)
    .notFound(onNotFound);
}
