/**
 * What happens to a verified Stripe event, whoever brought it: the webhook, the reconcile backfill
 * (`events.list`) or an operator's replay. The event goes to its order's OrderGuard, which answers a known
 * redelivery itself and otherwise settles it in one database call (`payguard.settle_event`: inbox record,
 * order lookup, every fact, inbox finish); a refund event first looks its order up (one more call).
 * An event with nothing to settle, and a signed delivery that is no usable event at all, is recorded in
 * the inbox as ignored with its reason, in that same one call. Returns what the caller should answer.
 */
import type { Deps } from "../../deps.ts";
import { settleEventInGuard } from "../../guard/settle-order.ts";
import { sha256Hex } from "../../hex.ts";
import { type InfraError, retryLater } from "../../ledger/result.ts";
import { settleEvent } from "../../ledger/settle.ts";
import type { EventLocator, ProviderEvent, SettleSource } from "../../ledger/types.ts";
import { applySubscriptionFact } from "./apply-subscription-event.ts";
import type { OrderLocator, StripeEventInput, UnusableStripeEvent } from "./normalise.ts";
import { planStripeEvent } from "./normalise.ts";

export type StripeEventOutcome =
  | { status: "duplicate"; orderId: string | null }
  | { status: "done"; orderId: string | null; outcome: string }
  /** `error.kind` decides the answer: permanent is acknowledged, anything else is retried. */
  | { status: "failed"; orderId: string | null; error: InfraError };

/**
 * The order payguard stored for the session / payment intent first, else the one the event names. A
 * session names its order (`client_reference_id`), which the database checks; so does an intent payguard
 * created, which it stored as the order's provider_ref just like a session (the database's `session`
 * locator matches that column). Refund events name the payment and not always the order (a Refund object
 * carries no metadata): the order is looked up first, so every event about one order meets that order's
 * OrderGuard and runs after its other events.
 */
async function eventLocator(
  deps: Deps,
  locator: OrderLocator,
): Promise<EventLocator | { error: InfraError }> {
  if (locator.by === "session")
    return { by: "session", ref: locator.sessionId, claimedOrderId: locator.claimedOrderId };
  if (locator.by === "intent")
    return { by: "session", ref: locator.paymentIntentId, claimedOrderId: locator.claimedOrderId };
  const found = await deps.store.findOrderByPaymentRef("stripe", locator.paymentIntentId);
  if (!found.ok) return { error: found.error };
  return {
    by: "payment",
    ref: locator.paymentIntentId,
    claimedOrderId: found.value?.id ?? locator.claimedOrderId,
  };
}

/** A payment that names no order and whose session payguard never stored: a human must look. */
async function unlocated(
  deps: Deps,
  event: StripeEventInput,
  locator: EventLocator,
  nowMs: number,
): Promise<StripeEventOutcome> {
  const raised = await deps.alerts.raise(
    {
      key: `unknown_order:stripe:${event.id}`,
      kind: "unknown_order",
      severity: "critical",
      summary: `Stripe event ${event.id} (${event.type}) matches no order`,
      detail: { event_id: event.id, type: event.type, locator },
    },
    nowMs,
  );
  if (!raised.ok) return failed(null, raised.error, "incident: ");
  const error = "order not found for event";
  const finished = await deps.store.finishEvent({
    provider: "stripe",
    eventId: event.id,
    status: "failed",
    error,
    nowMs,
  });
  if (!finished.ok) return failed(null, finished.error, "inbox finish: ");
  return { status: "failed", orderId: null, error: { kind: "permanent", code: "unlocated", message: error } };
}

/** A step after the event that failed: the event must come again, whatever kind the step's failure was. */
function failed(orderId: string | null, error: InfraError, context: string): StripeEventOutcome {
  const retry = retryLater(error);
  return { status: "failed", orderId, error: { ...retry, message: `${context}${retry.message}` } };
}

/**
 * Nothing to serialise: the inbox row alone, finished as ignored with its reason in the same call, and
 * filed under the order the event names, if any (it changes nothing there).
 */
async function ignore(
  deps: Deps,
  event: { eventId: string; eventType: string; reason: string; claimedOrderId?: string | null },
  source: SettleSource,
  nowMs: number,
): Promise<StripeEventOutcome> {
  const claimedOrderId = event.claimedOrderId ?? null;
  const settled = await settleEvent(
    {
      provider: "stripe",
      eventId: event.eventId,
      eventType: event.eventType,
      source,
      locator: { by: null, ref: null, claimedOrderId },
      facts: [],
      note: event.reason,
    },
    nowMs,
    deps,
  );
  if (!settled.ok) return { status: "failed", orderId: claimedOrderId, error: settled.error };
  if (settled.value.status === "duplicate") return { status: "duplicate", orderId: claimedOrderId };
  return { status: "done", orderId: claimedOrderId, outcome: "ignored" };
}

/**
 * A signed delivery with no usable event in it. Answering anything but 2xx would have Stripe send it
 * again for three days, so it is ignored once, under its own id, or else under its body's SHA-256 (the
 * same body again is then a duplicate); its type, if it has none, is recorded as `unknown`.
 */
export async function ignoreUnusableStripeEvent(
  deps: Deps,
  unusable: UnusableStripeEvent,
  rawBody: string,
  source: SettleSource,
  nowMs: number,
): Promise<StripeEventOutcome & { eventId: string }> {
  const eventId = unusable.id ?? `unusable_${await sha256Hex(rawBody)}`;
  const eventType = unusable.type ?? "unknown";
  const outcome = await ignore(deps, { eventId, eventType, reason: unusable.reason }, source, nowMs);
  return { ...outcome, eventId };
}

/** Plan → OrderGuard (one database call for a new event, none for a known redelivery) → answer. */
export async function applyStripeEvent(
  env: Env,
  deps: Deps,
  event: StripeEventInput,
  source: SettleSource,
  nowMs: number,
): Promise<StripeEventOutcome> {
  const plan = planStripeEvent(event, deps.config.stripe?.disputePolicy);
  if (plan.action === "ignore") {
    const { reason, claimedOrderId } = plan;
    return ignore(deps, { eventId: event.id, eventType: event.type, reason, claimedOrderId }, source, nowMs);
  }
  if (plan.action === "settle_subscription")
    return applySubscriptionFact(env, deps, event, plan.fact, source, nowMs);
  const locator = await eventLocator(deps, plan.locator);
  if ("error" in locator) return failed(plan.locator.claimedOrderId, locator.error, "locate: ");
  const providerEvent: ProviderEvent = {
    provider: "stripe",
    eventId: event.id,
    eventType: event.type,
    source,
    locator,
    facts: plan.facts.map((draft) => ({ ...draft, orderId: null })),
  };
  const settled = await settleEventInGuard(env, providerEvent, nowMs);
  const orderId = providerEvent.locator.claimedOrderId;
  if (!settled.ok) return { status: "failed", orderId, error: settled.error };
  const answer = settled.value;
  if (answer.status === "duplicate") return { status: "duplicate", orderId };
  if (answer.status === "unlocated") return unlocated(deps, event, providerEvent.locator, nowMs);
  return {
    status: "done",
    orderId: answer.results[0]?.orderId ?? orderId,
    outcome: answer.results.map((r) => r.outcome).join(",") || "ignored",
  };
}
