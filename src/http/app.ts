/** The Hono app: one router per resource, mounted here; errors mapped in one place. */
import { Hono } from "hono";
import { adminRoutes } from "../admin/index.ts";
import { checkoutRoutes } from "./checkout.ts";
import { appCors } from "./cors.ts";
import { onError, onNotFound } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { orderRoutes } from "./orders.ts";
import { packageRoutes } from "./packages.ts";
import { stripeWebhookRoutes } from "./webhooks-stripe.ts";
import { wechatWebhookRoutes } from "./webhooks-wechatpay.ts";

export function createApp() {
  return new Hono<{ Bindings: Env }>()
    .use("/api/*", appCors)
    .route("/health", healthRoutes)
    .route("/webhooks/stripe", stripeWebhookRoutes)
    .route("/webhooks/wechatpay", wechatWebhookRoutes)
    .route("/api/orders", orderRoutes)
    .route("/admin", adminRoutes)
    .route("/api/packages", packageRoutes)
    .route("/api/checkout", checkoutRoutes)
    .onError(onError)
    .notFound(onNotFound);
}
