/**
 * Repair from a Stripe Billing reference: a subscription's invoice (`in_…`) or the subscription itself
 * (`sub_…`, its state and latest invoice). A paid invoice grants as an order of its own whose id is the
 * invoice id, so whether it is recorded already is that order (or, when it granted nothing, an invoice
 * among its user's subscriptions). A real run settles exactly as the webhooks would
 * (src/reconcile/due-subscriptions.ts); a dry run retrieves the same object and says what that would do.
 * Every call goes through the batch's Stripe client, so through the deployment's provider budget.
 */
import type Stripe from "stripe";
import { z } from "zod";
import { retryRateLimited } from "../budget/budget.ts";
import type { Order, SubscriptionFact } from "../ledger/types.ts";
import { toInfraError } from "../providers/stripe/client.ts";
import { isObj } from "../providers/stripe/plan-parts.ts";
import { planPaidInvoice } from "../providers/stripe/subscription-plan.ts";
import { settleRetrievedInvoice, settleSubscriptionFromStripe } from "../reconcile/due-subscriptions.ts";
import type { ActionContext } from "./actions.ts";
import { formatAmount } from "./money.ts";
import type { BillingRefKind } from "./provider-refs.ts";
import type { RefReport } from "./repair-refs.ts";

type Found = Omit<RefReport, "ref" | "provider">;
type PaidInvoice = Extract<SubscriptionFact, { kind: "invoice_paid" }>;

const CREDITED = new Set(["fulfilled", "partially_refunded", "refunded"]);
/** Settle outcomes that change no ledger or record: a repeat, or an invoice left to a person (its incident). */
const UNCHANGED = new Set(["duplicate", "ungranted"]);
const USER_ID = z.uuid();

const found = (outcome: string, extra: Partial<Found> = {}): Found => ({
  outcome,
  orderId: null,
  credits: null,
  changed: false,
  ...extra,
});

type Called<T> = { ok: true; value: T } | { ok: false; found: Found };

/** A Stripe call (or a settle that makes one): a 429 waits for the budget's pause and retries; 404 is not_found. */
async function fromStripe<T>(call: () => Promise<T>): Promise<Called<T>> {
  const called = await retryRateLimited<Called<T>>(async () => {
    try {
      return { rateLimited: false, value: { ok: true, value: await call() } };
    } catch (error) {
      const infra = toInfraError(error);
      if (infra.status === 429) return { rateLimited: true };
      const outcome = infra.status === 404 ? "not_found" : "failed";
      return { rateLimited: false, value: { ok: false, found: found(outcome, { detail: infra.message }) } };
    }
  });
  return called.ok ? called.value : { ok: false, found: found("rate_limited") };
}

function orderFound(order: Order): Found {
  const base = { orderId: order.id, credits: order.credits };
  if (CREDITED.has(order.status)) return found("already_fulfilled", base);
  if (order.status === "needs_review") return found("in_review", base);
  return found("already_recorded", { ...base, detail: order.status });
}

/** The invoice as payguard recorded it already, null when it did not, or why that cannot be told. */
async function recorded(ctx: ActionContext, fact: PaidInvoice): Promise<Found | null> {
  const order = await ctx.deps.store.getOrder(fact.invoiceRef);
  if (!order.ok) return found("failed", { detail: order.error.message });
  if (order.value) return orderFound(order.value);
  const user = USER_ID.safeParse(fact.metadata?.userId);
  if (!user.success) return null;
  const subscriptions = await ctx.deps.subscriptions.ofUser(user.data);
  if (!subscriptions.ok) return found("failed", { detail: subscriptions.error.message });
  const invoice = subscriptions.value
    .flatMap((subscription) => subscription.invoices)
    .find((row) => row.invoice_ref === fact.invoiceRef);
  return invoice ? found("already_recorded", { detail: invoice.rule }) : null;
}

const describe = (fact: PaidInvoice) =>
  `${fact.invoiceRef}: ${fact.billingReason ?? "no billing reason"}, ${formatAmount(fact.amountMinor, fact.currency)}`;

/** A paid invoice payguard has not recorded (its fact), or the final answer about this one. */
async function inspect(
  ctx: ActionContext,
  invoice: unknown,
): Promise<{ fact: PaidInvoice } | { done: Found }> {
  if (!isObj(invoice)) return { done: found("not_paid", { detail: "no invoice" }) };
  if (invoice.status !== "paid")
    return { done: found("not_paid", { detail: `${String(invoice.id)}: ${String(invoice.status)}` }) };
  const plan = planPaidInvoice(invoice, Math.floor(ctx.nowMs / 1000));
  if (plan.action === "ignore") return { done: found("ignored", { detail: plan.reason }) };
  if (plan.fact.kind !== "invoice_paid") return { done: found("ignored") };
  const known = await recorded(ctx, plan.fact);
  return known ? { done: known } : { fact: plan.fact };
}

/** What a settle answered, with the grant's order (id = the invoice id) when one was written. */
async function settled(ctx: ActionContext, invoiceRef: string, outcome: string): Promise<Found> {
  const order = await ctx.deps.store.getOrder(invoiceRef);
  const grant = order.ok ? order.value : null;
  const changed = !UNCHANGED.has(outcome);
  return found(outcome, {
    orderId: grant?.id ?? null,
    credits: changed && grant && CREDITED.has(grant.status) ? grant.credits : null,
    changed,
  });
}

async function repairInvoice(
  ctx: ActionContext,
  stripe: Stripe,
  ref: string,
  dryRun: boolean,
): Promise<Found> {
  const retrieved = await fromStripe(() => stripe.invoices.retrieve(ref));
  if (!retrieved.ok) return retrieved.found;
  const seen = await inspect(ctx, retrieved.value);
  if ("done" in seen) return seen.done;
  if (dryRun) return found("would_settle_invoice", { detail: describe(seen.fact) });
  const outcome = await fromStripe(() =>
    settleRetrievedInvoice(ctx.env, ctx.deps, retrieved.value, "admin", ctx.nowMs),
  );
  if (!outcome.ok) return outcome.found;
  return settled(ctx, ref, outcome.value ?? "not_paid");
}

/**
 * The subscription's state is always recorded for real; its latest invoice settles when paid. Dry, the
 * answer is the latest invoice's (would_settle_invoice, already_fulfilled, not_paid …).
 */
async function repairSubscription(
  ctx: ActionContext,
  stripe: Stripe,
  ref: string,
  dryRun: boolean,
): Promise<Found> {
  const retrieved = await fromStripe(() =>
    stripe.subscriptions.retrieve(ref, { expand: ["latest_invoice"] }),
  );
  if (!retrieved.ok) return retrieved.found;
  const latest = retrieved.value.latest_invoice as unknown;
  const seen = await inspect(ctx, latest);
  if (dryRun)
    return "done" in seen ? seen.done : found("would_settle_invoice", { detail: describe(seen.fact) });
  const outcome = await fromStripe(() =>
    settleSubscriptionFromStripe(ctx.env, ctx.deps, stripe, ref, "admin", ctx.nowMs),
  );
  if (!outcome.ok) return outcome.found;
  if (outcome.value === null) {
    const why = "done" in seen ? seen.done.detail : undefined;
    return found("subscription_synced", { changed: true, ...(why && { detail: why }) });
  }
  const invoiceRef = isObj(latest) ? String(latest.id) : "";
  return settled(ctx, invoiceRef, outcome.value);
}

/** One Stripe Billing reference, dry or for real; `stripe` null: Stripe is not configured. */
export function repairBillingRef(
  ctx: ActionContext,
  stripe: Stripe | null,
  ref: string,
  kind: BillingRefKind,
  dryRun: boolean,
): Promise<Found> {
  if (!stripe) return Promise.resolve(found("not_configured", { detail: "stripe is not configured" }));
  return kind === "stripe_invoice"
    ? repairInvoice(ctx, stripe, ref, dryRun)
    : repairSubscription(ctx, stripe, ref, dryRun);
}
