/**
 * The subscription re-check: a live subscription whose current period has no paid invoice recorded after
 * the grace period (or whose known period ended that long ago, so no report of the renewal came at all) is
 * asked about at Stripe: the subscription with its latest invoice, in one call. Its state and, when paid,
 * that invoice settle exactly as their webhooks would, so a renewal whose events were all lost is granted
 * by the next run. A lease (doubling per attempt) keeps an unpaid renewal from being asked every run.
 */
import type Stripe from "stripe";
import type { Deps } from "../deps.ts";
import type { SettleSource, SubscriptionFact } from "../ledger/types.ts";
import { log } from "../log.ts";
import { applySubscriptionFact } from "../providers/stripe/apply-subscription-event.ts";
import { toInfraError } from "../providers/stripe/client.ts";
import { isObj, type Obj } from "../providers/stripe/plan-parts.ts";
import { planPaidInvoice, planSubscriptionState } from "../providers/stripe/subscription-plan.ts";

/**
 * How long after a period starts its paid invoice may take: Stripe finalizes a renewal's draft invoice about
 * an hour after the period begins and then charges it; two hours leaves room for a slow charge.
 */
export const SUBSCRIPTION_INVOICE_GRACE_S = 2 * 3600;
/** The first re-check's lease; each further attempt doubles it, up to a day. */
export const SUBSCRIPTION_RECHECK_LEASE_S = 15 * 60;
/** Subscriptions one run asks about (each one Stripe call, two when its invoice is new). */
export const SUBSCRIPTION_RECHECKS_PER_RUN = 50;

export interface SubscriptionRecheckStats {
  checked: number;
  granted: number;
  errors: number;
}

async function settleOrThrow(
  env: Env,
  deps: Deps,
  event: { id: string; type: string },
  fact: SubscriptionFact,
  source: SettleSource,
  nowMs: number,
): Promise<string> {
  const settled = await applySubscriptionFact(env, deps, event, fact, source, nowMs);
  if (settled.status === "failed") throw new Error(settled.error.message);
  return settled.status === "done" ? settled.outcome : "duplicate";
}

/** A retrieved invoice, settled as its `invoice.paid` would be; null when it is not paid (nothing to settle). */
export async function settleRetrievedInvoice(
  env: Env,
  deps: Deps,
  invoice: unknown,
  source: SettleSource,
  nowMs: number,
): Promise<string | null> {
  if (!isObj(invoice) || invoice.status !== "paid") return null;
  const paid = planPaidInvoice(invoice, Math.floor(nowMs / 1000));
  if (paid.action !== "settle_subscription" || paid.fact.kind !== "invoice_paid") return null;
  const event = { id: `${source}:${paid.fact.invoiceRef}:${nowMs}`, type: "invoice.paid" };
  return settleOrThrow(env, deps, event, paid.fact, source, nowMs);
}

/**
 * One subscription as Stripe states it now, in one call: its state, then its latest invoice when paid.
 * Answers the invoice's outcome (null when it has none to settle). Throws what Stripe or the settle threw.
 */
export async function settleSubscriptionFromStripe(
  env: Env,
  deps: Deps,
  stripe: Stripe,
  subscriptionId: string,
  source: SettleSource,
  nowMs: number,
): Promise<string | null> {
  const subscription = await stripe.subscriptions.retrieve(subscriptionId, { expand: ["latest_invoice"] });
  const state = planSubscriptionState(subscription as unknown as Obj, Math.floor(nowMs / 1000));
  if (state.action === "settle_subscription") {
    const event = { id: `${source}:${subscriptionId}:${nowMs}`, type: "customer.subscription.updated" };
    await settleOrThrow(env, deps, event, state.fact, source, nowMs);
  }
  return settleRetrievedInvoice(env, deps, subscription.latest_invoice, source, nowMs);
}

export async function recheckSubscriptions(
  env: Env,
  deps: Deps,
  stripe: Stripe,
  nowMs: number,
): Promise<SubscriptionRecheckStats> {
  const stats: SubscriptionRecheckStats = { checked: 0, granted: 0, errors: 0 };
  const leased = await deps.subscriptions.leaseDue({
    limit: SUBSCRIPTION_RECHECKS_PER_RUN,
    graceSeconds: SUBSCRIPTION_INVOICE_GRACE_S,
    leaseSeconds: SUBSCRIPTION_RECHECK_LEASE_S,
    nowMs,
  });
  if (!leased.ok) {
    log("warn", "subscription re-check: lease failed", { code: leased.error.code });
    return { ...stats, errors: 1 };
  }
  for (const subscription of leased.value) {
    try {
      const outcome = await settleSubscriptionFromStripe(
        env,
        deps,
        stripe,
        subscription.id,
        "reconcile",
        nowMs,
      );
      stats.checked += 1;
      if (outcome === "fulfilled") stats.granted += 1;
    } catch (error) {
      stats.errors += 1;
      log("warn", "subscription re-check failed", {
        subscription: subscription.id,
        code: toInfraError(error).code,
      });
    }
  }
  return stats;
}
