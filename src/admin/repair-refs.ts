/**
 * Repair from provider references alone (the "fix missing orders" step of the runbooks): for each
 * reference, ask the provider, find the order it pays (the one that stored the session, else the one it
 * claims) and settle the payment through that order's OrderGuard, where an order that was never written
 * is rebuilt from the payment's signed metadata (active package within stock; otherwise review). A Stripe
 * invoice or subscription settles as its webhooks would (billing-refs.ts).
 * A dry run asks the same questions and says what would change, without settling anything.
 * One batch is bounded, its provider calls take their tokens from the deployment's provider budget (a
 * 429 waits for its Retry-After), and it is recorded once.
 */

import type Stripe from "stripe";
import {
  ONE_AT_A_TIME,
  openProviderBudget,
  type ProviderBudget,
  retryRateLimited,
} from "../budget/budget.ts";
import type { PackageView } from "../checkout/store.ts";
import { settleOrder } from "../guard/settle-order.ts";
import type { Order, PaymentFact, Provider } from "../ledger/types.ts";
import { stripeClientFor } from "../providers/registry.ts";
import { type ActionContext, perform } from "./actions.ts";
import { repairBillingRef } from "./billing-refs.ts";
import {
  isBillingKind,
  type PaymentRefKind,
  providerOf,
  type RefAnswer,
  type RefKind,
  type RefLookup,
  type RefResult,
  refKind,
  refLookup,
} from "./provider-refs.ts";

/** References one repair call may take: each is at least one provider round trip. */
export const REPAIR_REFS_MAX = 100;

export interface RefReport {
  ref: string;
  provider: Provider | null;
  /**
   * Dry run: would_credit, would_rebuild, would_review, would_settle_invoice, already_fulfilled, not_paid,
   * not_found …
   * Real run: the settle outcome (fulfilled, created_from_metadata, late_payment, needs_review, held; for an
   * invoice also nothing_granted, ungranted, mismatch, duplicate; subscription_synced …).
   */
  outcome: string;
  orderId: string | null;
  /** Credits the payment grants (would grant, in a dry run) when that is known. */
  credits: number | null;
  changed: boolean;
  detail?: string;
}

const CREDITED = new Set(["fulfilled", "partially_refunded", "refunded"]);

interface Batch {
  ctx: ActionContext;
  dryRun: boolean;
  lookup: RefLookup;
  /** The same budget's Stripe client, for invoices and subscriptions; null without Stripe. */
  stripe: Stripe | null;
  /** Active packages with stock left, read once per dry run. */
  packages: () => Promise<Map<string, PackageView> | null>;
}

const report = (ref: string, provider: Provider | null, outcome: string, extra: Partial<RefReport> = {}) => ({
  ref,
  provider,
  outcome,
  orderId: null,
  credits: null,
  changed: false,
  ...extra,
});

/** The provider's answer; null when it kept answering 429. */
async function ask(batch: Batch, ref: string, kind: PaymentRefKind): Promise<RefResult | null> {
  const called = await retryRateLimited(async () => {
    const answer = await batch.lookup(ref, kind, batch.ctx.nowMs);
    return !answer.ok && answer.error.rateLimited
      ? { rateLimited: true as const }
      : { rateLimited: false as const, value: answer };
  });
  return called.ok ? (called.value ?? null) : null;
}

/** The order a Stripe session belongs to is the one that stored it; otherwise the one the payment names. */
async function findOrder(
  batch: Batch,
  answer: Extract<RefAnswer, { found: true }>,
): Promise<Order | null | Error> {
  const { store } = batch.ctx.deps;
  if (answer.sessionId) {
    const bySession = await store.findOrderByProviderRef("stripe", answer.sessionId);
    if (!bySession.ok) return new Error(bySession.error.message);
    if (bySession.value) return bySession.value;
  }
  if (!answer.claimedOrderId) return null;
  const claimed = await store.getOrder(answer.claimedOrderId);
  return claimed.ok ? claimed.value : new Error(claimed.error.message);
}

/** Settlement's own rule: what was paid plus any provider discount is the price, in its currency. */
const pays = (fact: PaymentFact, price: { amountMinor: number; currency: string }) =>
  fact.kind === "paid" &&
  fact.amountMinor + (fact.discountMinor ?? 0) === price.amountMinor &&
  fact.currency.toUpperCase() === price.currency.toUpperCase();

async function dryRunPaid(batch: Batch, base: RefReport, fact: PaymentFact, order: Order | null) {
  // Another payment for a credited order goes to review (the database records it and opens an incident).
  if (order && CREDITED.has(order.status))
    return { ...base, outcome: "would_review", credits: null, detail: "paid twice" };
  if (order?.status === "needs_review") return { ...base, outcome: "in_review" };
  if (order && !pays(fact, order)) return { ...base, outcome: "would_review", detail: "amount differs" };
  if (order) return { ...base, outcome: "would_credit", credits: order.credits };
  const metadata = fact.kind === "paid" ? fact.metadata : undefined;
  const packages = await batch.packages();
  if (!packages) return { ...base, outcome: "failed", detail: "packages unavailable" };
  const pkg = metadata?.userId && metadata.packageId ? packages.get(metadata.packageId) : undefined;
  if (!pkg) return { ...base, outcome: "would_review" };
  return pays(fact, pkg)
    ? { ...base, outcome: "would_rebuild", credits: pkg.credits }
    : { ...base, outcome: "would_review", detail: "amount differs" };
}

async function repairOne(batch: Batch, ref: string, asKind?: RefKind): Promise<RefReport> {
  const kind = asKind ?? refKind(ref);
  if (!kind) return report(ref, null, "bad_ref");
  if (isBillingKind(kind))
    return {
      ref,
      provider: "stripe",
      ...(await repairBillingRef(batch.ctx, batch.stripe, ref, kind, batch.dryRun)),
    };
  const provider = providerOf(kind);
  const answer = await ask(batch, ref, kind);
  if (!answer) return report(ref, provider, "rate_limited");
  if (!answer.ok)
    return report(ref, provider, answer.error.code === "not_configured" ? "not_configured" : "failed", {
      detail: answer.error.message,
    });
  if (!answer.value.found) return report(ref, provider, "not_found");
  const { fact } = answer.value;
  if (fact.kind === "mismatch") return report(ref, provider, "mismatch", { detail: fact.reason });
  if (fact.kind !== "paid") return report(ref, provider, "not_paid", { detail: fact.kind });
  const order = await findOrder(batch, answer.value);
  if (order instanceof Error) return report(ref, provider, "failed", { detail: order.message });
  const orderId = order?.id ?? answer.value.claimedOrderId;
  const base = report(ref, provider, "", { orderId, credits: order?.credits ?? null });
  if (!orderId) return { ...base, outcome: "no_order_named" };
  if (order && CREDITED.has(order.status) && order.paymentRef === fact.paymentRef)
    return { ...base, outcome: "already_fulfilled" };
  if (batch.dryRun) return dryRunPaid(batch, base, fact, order);
  const settled = await settleOrder(batch.ctx.env, { ...fact, orderId }, "admin", batch.ctx.nowMs);
  if (!settled.ok) return { ...base, outcome: "failed", detail: settled.error.message };
  const { outcome } = settled.value;
  const changed = outcome !== "duplicate" && outcome !== "noop";
  return {
    ...base,
    outcome,
    changed,
    credits: changed ? await creditsOf(batch, orderId, base.credits) : null,
  };
}

/** What the settled order grants: the order read back when it was just rebuilt. */
async function creditsOf(batch: Batch, orderId: string, known: number | null): Promise<number | null> {
  if (known !== null) return known;
  const order = await batch.ctx.deps.store.getOrder(orderId);
  return order.ok && order.value?.status === "fulfilled" ? order.value.credits : null;
}

function packagesOnce(ctx: ActionContext): () => Promise<Map<string, PackageView> | null> {
  let loaded: Promise<Map<string, PackageView> | null> | null = null;
  return () => {
    loaded ??= ctx.deps.checkout
      .listPackages()
      .then((listed) =>
        listed.ok
          ? new Map(
              listed.value
                .filter((p) => p.stockRemaining === null || p.stockRemaining > 0)
                .map((p) => [p.id, p]),
            )
          : null,
      );
    return loaded;
  };
}

export const countOutcomes = (reports: Array<{ outcome: string }>): Record<string, number> =>
  reports.reduce<Record<string, number>>((counts, { outcome }) => {
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    return counts;
  }, {});

/**
 * Repairs (or, dry, explains) every reference once, in order, without recording: for callers that record.
 * `asKind` reads every reference as that kind (the inbox knows an out_trade_no is one).
 */
export async function repairFromRefsQuietly(
  ctx: ActionContext,
  refs: string[],
  options: { providers: ProviderBudget; dryRun: boolean; asKind?: RefKind },
): Promise<RefReport[]> {
  const { providers, dryRun, asKind } = options;
  const batch: Batch = {
    ctx,
    dryRun,
    lookup: refLookup(ctx.deps, providers),
    stripe: stripeClientFor(ctx.deps, providers),
    packages: packagesOnce(ctx),
  };
  const results: RefReport[] = [];
  for (const ref of [...new Set(refs)].slice(0, REPAIR_REFS_MAX))
    results.push(await repairOne(batch, ref, asKind));
  return results;
}

export type RepairBatch = { dryRun: boolean; summary: Record<string, number>; results: RefReport[] };

/** The console's repair: one admin action for the whole batch, with every reference's outcome. */
export async function repairFromRefs(
  ctx: ActionContext,
  refs: string[],
  dryRun: boolean,
): Promise<{ ok: true; value: RepairBatch } | { ok: false; detail: string }> {
  let results: RefReport[] = [];
  const count = new Set(refs).size;
  const recorded = await perform(
    ctx,
    { action: dryRun ? "repair_refs_dry_run" : "repair_refs", target: `${count} refs` },
    async () => {
      const providers = openProviderBudget(ctx.deps, ONE_AT_A_TIME);
      results = await repairFromRefsQuietly(ctx, refs, { providers, dryRun });
      const summary = countOutcomes(results);
      return { ok: true, outcome: dryRun ? "dry_run" : "repaired", detail: { summary, results } };
    },
  );
  if (!recorded.ok) return { ok: false, detail: recorded.error.detail };
  return { ok: true, value: { dryRun, summary: countOutcomes(results), results } };
}
