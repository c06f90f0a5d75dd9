/**
 * `POST /webhooks/stripe`: raw body -> signature -> plan -> OrderGuard (inbox, settlement and inbox finish
 * in one database call; a known redelivery answered by the guard) -> 2xx.
 * Answers: 400 for anything the sender got wrong (nothing written), 413 for oversized bodies,
 * 503 when the database or a Durable Object is unavailable or the Data API refuses payguard (misconfigured:
 * Stripe retries for days, and a `data_api:` incident names the fix), 200 otherwise, including for event
 * types payguard does not handle and for a signed body that is no usable event (no `data.object`, no id
 * or type: ignored with its reason in the inbox; Stripe disables endpoints that keep failing).
 */
import { Hono } from "hono";
import { getDeps } from "../deps.ts";
import { log } from "../log.ts";
import { applyStripeEvent, ignoreUnusableStripeEvent } from "../providers/stripe/apply-event.ts";
import { readStripeEvent } from "../providers/stripe/normalise.ts";
import { verifyStripeEvent } from "../providers/stripe/verify.ts";
import { readBodyLimited } from "./body.ts";
import { dataApiFailed, dataApiSettled } from "./data-api-alerts.ts";
import { failureResponse, storeFailure, webhookAnswerFor } from "./errors.ts";

/** Stripe events are a few KiB; 512 KiB leaves room for large line-item lists and stops abuse. */
export const STRIPE_WEBHOOK_BODY_MAX_BYTES = 512 * 1024;

export const stripeWebhookRoutes = new Hono<{ Bindings: Env }>().post("/", async (c) => {
  const startedMs = Date.now();
  const deps = getDeps(c.env);
  if (!deps.config.stripe) return failureResponse(c, { kind: "not_found", detail: "stripe is not enabled" });
  const body = await readBodyLimited(c.req.raw, STRIPE_WEBHOOK_BODY_MAX_BYTES);
  if (!body.ok) return failureResponse(c, { kind: "payload_too_large", detail: "stripe webhook body" });
  const signature = c.req.header("stripe-signature") ?? null;
  const verified = await verifyStripeEvent(
    body.text,
    signature,
    deps.config.stripe.webhookSecrets,
    startedMs,
  );
  if (!verified.ok)
    return failureResponse(c, { kind: "bad_request", detail: `stripe webhook ${verified.reason}` });
  const read = readStripeEvent(verified.payload);

  const result = read.ok
    ? { ...(await applyStripeEvent(c.env, deps, read.event, "webhook", startedMs)), eventId: read.event.id }
    : await ignoreUnusableStripeEvent(deps, read.unusable, body.text, "webhook", startedMs);
  const logged = {
    event_id: result.eventId,
    type: read.ok ? read.event.type : read.unusable.type,
    order_id: result.orderId,
    ms: Date.now() - startedMs,
    ...(read.ok ? {} : { reason: read.unusable.reason }),
  };
  if (result.status === "duplicate") {
    log("info", "stripe_event", { ...logged, outcome: "duplicate_event" });
    return c.json({ received: true, duplicate: true });
  }
  if (result.status === "failed") {
    const { error } = result;
    log("error", "stripe_event", { ...logged, outcome: "failed", kind: error.kind, error: error.message });
    await dataApiFailed(deps, error, startedMs, c.executionCtx);
    switch (webhookAnswerFor(error.kind)) {
      case "retry":
        return failureResponse(c, storeFailure(error, `stripe event ${result.eventId}`));
      case "acknowledge":
        // Nothing payguard could ever do with it: recorded as failed in the inbox for the audit.
        return c.json({ received: true, outcome: "failed" });
    }
  }
  await dataApiSettled(deps, startedMs, c.executionCtx);
  log("info", "stripe_event", { ...logged, outcome: result.outcome });
  return c.json({ received: true, outcome: result.outcome });
});
