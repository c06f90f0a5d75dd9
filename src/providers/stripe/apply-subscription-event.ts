/**
 * A subscription's event (a paid invoice, a state report), whoever brought it: the webhook, the backfill,
 * the subscription re-check or an operator. It settles in its subscription's guard, in one database call
 * (`payguard.settle_event` → `_settle_invoice` / `_apply_subscription_state`). A paid invoice first learns
 * its PaymentIntent from Stripe when the event does not carry it (one call, through the provider budget):
 * a failure there is retried like a database failure, so nothing is granted without it.
 */
import type { Deps } from "../../deps.ts";
import { settleEventInGuard } from "../../guard/settle-order.ts";
import { retryLater } from "../../ledger/result.ts";
import type { ProviderEvent, SettleSource, SubscriptionFact } from "../../ledger/types.ts";
import { stripeClientFor } from "../registry.ts";
import type { StripeEventOutcome } from "./apply-event.ts";
import { invoicePaymentRef } from "./invoice-payment.ts";

async function withPaymentRef(
  deps: Deps,
  fact: SubscriptionFact,
): Promise<{ fact: SubscriptionFact } | { outcome: StripeEventOutcome }> {
  if (fact.kind !== "invoice_paid" || fact.paymentRef !== null || fact.amountMinor === 0) return { fact };
  const stripe = stripeClientFor(deps);
  if (!stripe) return { fact };
  const found = await invoicePaymentRef(stripe, fact.invoiceRef);
  if (!found.ok) {
    const retry = retryLater(found.error);
    return {
      outcome: {
        status: "failed",
        orderId: fact.invoiceRef,
        error: { ...retry, message: `invoice payment: ${retry.message}` },
      },
    };
  }
  return { fact: { ...fact, paymentRef: found.value } };
}

export async function applySubscriptionFact(
  env: Env,
  deps: Deps,
  event: { id: string; type: string },
  draft: SubscriptionFact,
  source: SettleSource,
  nowMs: number,
): Promise<StripeEventOutcome> {
  const completed = await withPaymentRef(deps, draft);
  if ("outcome" in completed) return completed.outcome;
  const { fact } = completed;
  const orderId = fact.kind === "invoice_paid" ? fact.invoiceRef : null;
  const providerEvent: ProviderEvent = {
    provider: "stripe",
    eventId: event.id,
    eventType: event.type,
    source,
    locator: { by: null, ref: null, claimedOrderId: orderId },
    facts: [{ ...fact, orderId: null }],
  };
  const settled = await settleEventInGuard(env, providerEvent, nowMs);
  if (!settled.ok) return { status: "failed", orderId, error: settled.error };
  const answer = settled.value;
  if (answer.status === "duplicate") return { status: "duplicate", orderId };
  if (answer.status === "unlocated")
    return {
      status: "failed",
      orderId,
      error: { kind: "permanent", code: "unlocated", message: "subscription fact unlocated" },
    };
  const [result] = answer.results;
  return { status: "done", orderId: result?.orderId ?? orderId, outcome: result?.outcome ?? "ignored" };
}
