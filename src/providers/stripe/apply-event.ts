/**
 * What happens to a verified Stripe event, whoever brought it: the webhook, the reconcile backfill
 * (`events.list`) or an operator's replay. Inbox first (guard 1), then plan, locate and settle each fact
 * through the order's OrderGuard, then finish the inbox row. Returns what the caller should answer.
 */
import type { Deps } from "../../deps.ts";
import { settleOrder } from "../../guard/settle-order.ts";
import type { PaymentFact, SettleResult, SettleSource } from "../../ledger/types.ts";
import type { FactDraft, OrderLocator, StripeEventInput, StripeEventPlan } from "./normalise.ts";
import { planStripeEvent } from "./normalise.ts";

export type Processed =
  | { ok: true; results: SettleResult[]; note?: string }
  | { ok: false; transient: boolean; error: string };

/** Our order id: the one payguard stored for the Stripe object first, else the one the event names. */
async function locateOrder(
  deps: Deps,
  locator: OrderLocator,
): Promise<{ orderId: string | null; error?: string }> {
  const found =
    locator.by === "session"
      ? await deps.store.findOrderByProviderRef("stripe", locator.sessionId)
      : await deps.store.findOrderByPaymentRef("stripe", locator.paymentIntentId);
  if (!found.ok) return { orderId: null, error: found.error.message };
  return { orderId: found.value?.id ?? locator.claimedOrderId };
}

async function settleAll(
  env: Env,
  orderId: string | null,
  facts: FactDraft[],
  source: SettleSource,
  nowMs: number,
): Promise<Processed> {
  const results: SettleResult[] = [];
  for (const draft of facts) {
    const fact = withOrderId(draft, orderId);
    if (!fact) return { ok: false, transient: false, error: "payment names no order" };
    const settled = await settleOrder(env, fact, source, nowMs);
    if (!settled.ok)
      return { ok: false, transient: settled.error.kind === "transient", error: settled.error.message };
    results.push(settled.value);
  }
  return { ok: true, results };
}

/** Refunds may name no order yet (the database holds them); every other fact needs one. */
function withOrderId(draft: FactDraft, orderId: string | null): PaymentFact | null {
  if (draft.kind === "refunded" || draft.kind === "refund_failed") return { ...draft, orderId };
  return orderId ? { ...draft, orderId } : null;
}

async function processEvent(
  env: Env,
  deps: Deps,
  event: StripeEventInput,
  plan: StripeEventPlan,
  source: SettleSource,
  nowMs: number,
): Promise<Processed> {
  if (plan.action === "ignore") return { ok: true, results: [], note: plan.reason };
  const located = await locateOrder(deps, plan.locator);
  if (located.error) return { ok: false, transient: true, error: located.error };
  const needsOrder = plan.facts.some((f) => f.kind !== "refunded" && f.kind !== "refund_failed");
  if (!located.orderId && needsOrder) {
    // A payment that names no order and whose session payguard never stored: a human must look.
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
  return settleAll(env, located.orderId, plan.facts, source, nowMs);
}

export type StripeEventOutcome =
  | { status: "duplicate"; orderId: string | null }
  | { status: "done"; orderId: string | null; outcome: string }
  | { status: "failed"; orderId: string | null; transient: boolean; error: string };

/** Inbox → plan → locate → settle → finish. `transient` failures must be retried (webhook: 5xx). */
export async function applyStripeEvent(
  env: Env,
  deps: Deps,
  event: StripeEventInput,
  source: SettleSource,
  nowMs: number,
): Promise<StripeEventOutcome> {
  const plan = planStripeEvent(event);
  const orderId = plan.action === "settle" ? plan.locator.claimedOrderId : null;
  const inbox = await deps.store.recordEvent({
    provider: "stripe",
    eventId: event.id,
    eventType: event.type,
    orderId,
    nowMs,
  });
  if (!inbox.ok)
    return { status: "failed", orderId, transient: true, error: `inbox: ${inbox.error.message}` };
  if (inbox.value === "duplicate") return { status: "duplicate", orderId };

  const processed = await processEvent(env, deps, event, plan, source, nowMs);
  const finished = await deps.store.finishEvent({
    provider: "stripe",
    eventId: event.id,
    status: processed.ok ? (processed.results.length ? "processed" : "ignored") : "failed",
    error: processed.ok ? processed.note : processed.error,
    nowMs,
  });
  if (!processed.ok)
    return { status: "failed", orderId, transient: processed.transient, error: processed.error };
  if (!finished.ok)
    return { status: "failed", orderId, transient: true, error: `inbox finish: ${finished.error.message}` };
  return { status: "done", orderId, outcome: processed.results.map((r) => r.outcome).join(",") || "ignored" };
}
