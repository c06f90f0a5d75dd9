/**
 * `POST /webhooks/stripe`: raw body -> signature -> inbox -> plan -> OrderGuard -> 2xx.
 * Answers: 400 for anything the sender got wrong (nothing written), 413 for oversized bodies,
 * 503 when the database or a Durable Object is unavailable (Stripe retries), 200 otherwise,
 * including for event types payguard does not handle (Stripe disables endpoints that keep failing).
 */
import { Hono } from "hono";
import type { Deps } from "../deps.ts";
import { getDeps } from "../deps.ts";
import { settleOrder } from "../guard/settle-order.ts";
import type { SettleResult } from "../ledger/types.ts";
import { log } from "../log.ts";
import type {
  FactDraft,
  OrderLocator,
  StripeEventInput,
  StripeEventPlan,
} from "../providers/stripe/normalise.ts";
import { planStripeEvent } from "../providers/stripe/normalise.ts";
import { verifyStripeEvent } from "../providers/stripe/verify.ts";
import { readBodyLimited } from "./body.ts";
import { failureResponse } from "./errors.ts";

/** Stripe events are a few KiB; 512 KiB leaves room for large line-item lists and stops abuse. */
export const STRIPE_WEBHOOK_BODY_MAX_BYTES = 512 * 1024;

type Processed =
  | { ok: true; results: SettleResult[]; note?: string }
  | { ok: false; transient: boolean; error: string };

async function locateOrder(
  deps: Deps,
  locator: OrderLocator,
): Promise<{ orderId: string | null; error?: string }> {
  if (locator.by === "order_id") return { orderId: locator.orderId };
  const found =
    locator.by === "session"
      ? await deps.store.findOrderByProviderRef("stripe", locator.sessionId)
      : await deps.store.findOrderByPaymentRef("stripe", locator.paymentIntentId);
  if (!found.ok) return { orderId: null, error: found.error.message };
  return { orderId: found.value?.id ?? null };
}

async function settleAll(env: Env, orderId: string, facts: FactDraft[], nowMs: number): Promise<Processed> {
  const results: SettleResult[] = [];
  for (const draft of facts) {
    const settled = await settleOrder(env, { ...draft, orderId }, "webhook", nowMs);
    if (!settled.ok)
      return { ok: false, transient: settled.error.kind === "transient", error: settled.error.message };
    results.push(settled.value);
  }
  return { ok: true, results };
}

async function processEvent(
  env: Env,
  deps: Deps,
  event: StripeEventInput,
  plan: StripeEventPlan,
  nowMs: number,
): Promise<Processed> {
  if (plan.action === "ignore") return { ok: true, results: [], note: plan.reason };
  const located = await locateOrder(deps, plan.locator);
  if (located.error) return { ok: false, transient: true, error: located.error };
  if (!located.orderId) {
    // Money moved (or a refund happened) for an order we cannot find and cannot rebuild: a human must look.
    const raised = await deps.alerts.raise(
      {
        key: `unknown_order:stripe:${event.id}`,
        kind: "unknown_order",
        severity: "critical",
        summary: `Stripe event ${event.id} (${event.type}) matches no order`,
        detail: { event_id: event.id, type: event.type, locator: plan.locator },
      },
      nowMs,
    );
    if (!raised.ok) return { ok: false, transient: true, error: `incident: ${raised.error.message}` };
    return { ok: false, transient: false, error: "order not found for event" };
  }
  return settleAll(env, located.orderId, plan.facts, nowMs);
}

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
  const event = verified.event;

  const plan = planStripeEvent(event);
  const orderHint = plan.action === "settle" && plan.locator.by === "order_id" ? plan.locator.orderId : null;
  const inbox = await deps.store.recordEvent({
    provider: "stripe",
    eventId: event.id,
    eventType: event.type,
    orderId: orderHint,
    nowMs: startedMs,
  });
  if (!inbox.ok) return failureResponse(c, { kind: "unavailable", detail: `inbox: ${inbox.error.message}` });
  const logged = { event_id: event.id, type: event.type, order_id: orderHint };
  if (inbox.value === "duplicate") {
    log("info", "stripe_event", { ...logged, outcome: "duplicate_event", ms: Date.now() - startedMs });
    return c.json({ received: true, duplicate: true });
  }

  const processed = await processEvent(c.env, deps, event, plan, startedMs);
  const finish = processed.ok ? (processed.results.length ? "processed" : "ignored") : "failed";
  const finished = await deps.store.finishEvent({
    provider: "stripe",
    eventId: event.id,
    status: finish,
    error: processed.ok ? processed.note : processed.error,
    nowMs: Date.now(),
  });
  const outcome = processed.ok ? processed.results.map((r) => r.outcome).join(",") || "ignored" : "failed";
  log(processed.ok ? "info" : "error", "stripe_event", { ...logged, outcome, ms: Date.now() - startedMs });
  if (!processed.ok && processed.transient) {
    return failureResponse(c, {
      kind: "unavailable",
      detail: `stripe event ${event.id}: ${processed.error}`,
    });
  }
  if (!finished.ok)
    return failureResponse(c, { kind: "unavailable", detail: `inbox finish: ${finished.error.message}` });
  return c.json({ received: true, outcome });
});
