/**
 * What an operator can do, shared by the admin API and the dashboard. Every action runs through
 * `perform`, which records who, what, when, why and the outcome (admin_actions, and the order timeline
 * when it concerns an order) whether it worked or not. Money only moves through the settle path:
 * syncs and replays send provider facts to the order's OrderGuard; a refund is made at the provider and
 * its clawback follows from the provider's refund fact, keyed by the refund id, so exactly once.
 */

import { incidentsOf } from "../db/settle-json.ts";
import type { Deps } from "../deps.ts";
import { settleOrder } from "../guard/settle-order.ts";
import { deliverIncidents } from "../ledger/incident-outbox.ts";
import { type InfraError, retryLater } from "../ledger/result.ts";
import type { Order } from "../ledger/types.ts";
import { log } from "../log.ts";
import { dataApiIncidentKey } from "../ops/data-api.ts";
import { JOBS } from "../ops/jobs.ts";
import { providerApiFor } from "../providers/registry.ts";
import { applyStripeEvent } from "../providers/stripe/apply-event.ts";
import { type JobName, runJob } from "../reconcile/scheduled.ts";
import { orderPayments } from "./order-money.ts";
import { type RefundTarget, refundAtProvider } from "./refunds.ts";
import type { AdminStore } from "./store.ts";
import { stripeFor } from "./stripe.ts";

/** Orders one "sync the filtered set" call may touch: each is a provider round trip. */
export const SYNC_ORDERS_MAX = 50;
/** Longest mute an operator may set. */
export const MUTE_MINUTES_MAX = 7 * 24 * 60;

export type ActionFailure = {
  /** `misconfigured`: the Data API refuses payguard; the detail names its incident, never the server's words. */
  kind: "not_found" | "conflict" | "unavailable" | "misconfigured";
  detail: string;
};
export type ActionResult =
  | { ok: true; outcome: string; detail: Record<string, unknown> }
  | { ok: false; error: ActionFailure };

export interface ActionContext {
  env: Env;
  deps: Deps;
  admin: AdminStore;
  actor: string;
  reason: string;
  nowMs: number;
}

const done = (outcome: string, detail: Record<string, unknown> = {}): ActionResult => ({
  ok: true,
  outcome,
  detail,
});
const fail = (kind: ActionFailure["kind"], detail: string): ActionResult => ({
  ok: false,
  error: { kind, detail },
});

/**
 * A store or provider failure: transient ones are 503 (try again), a misconfiguration 503 naming its
 * incident (the server's message goes to the log only), a refusal (e.g. P0001) 409.
 */
export function actionFailure(error: InfraError, context = ""): ActionFailure {
  switch (error.kind) {
    case "transient":
      return { kind: "unavailable", detail: `${context}${error.message}` };
    case "misconfigured": {
      const incident = dataApiIncidentKey(error.fault ?? "unavailable");
      log("error", "admin_data_api_misconfigured", { incident, code: error.code, message: error.message });
      return { kind: "misconfigured", detail: `payguard is misconfigured; see incident ${incident}` };
    }
    case "permanent":
      return { kind: "conflict", detail: `${context}${error.message}` };
  }
}

const failFrom = (error: InfraError, context = ""): ActionResult => ({
  ok: false,
  error: actionFailure(error, context),
});

/** Runs an action and records it; if the record cannot be written the caller sees 503. */
export async function perform(
  ctx: ActionContext,
  what: { action: string; orderId?: string; target?: string },
  run: () => Promise<ActionResult>,
): Promise<ActionResult> {
  const result = await run();
  const recorded = await ctx.admin.recordAction({
    actor: ctx.actor,
    action: what.action,
    orderId: what.orderId ?? null,
    target: what.target ?? null,
    reason: ctx.reason,
    outcome: result.ok ? result.outcome : `failed:${result.error.kind}`,
    detail: result.ok ? result.detail : { error: result.error.detail },
    nowMs: ctx.nowMs,
  });
  if (!recorded.ok) return failFrom(retryLater(recorded.error), "attribution not recorded: ");
  return result;
}

async function loadOrder(ctx: ActionContext, orderId: string): Promise<Order | ActionResult> {
  const found = await ctx.deps.store.getOrder(orderId);
  if (!found.ok) return failFrom(found.error);
  return found.value ?? fail("not_found", `order ${orderId}`);
}

const isResult = (value: Order | ActionResult): value is ActionResult => "ok" in value;

/** Asks the provider for the truth about one order and settles it through its OrderGuard. */
async function syncLoaded(ctx: ActionContext, order: Order): Promise<ActionResult> {
  const api = providerApiFor(ctx.deps, order.provider);
  if (!api) return fail("conflict", `provider ${order.provider} is not configured`);
  const fact = await api.queryOrder(order, ctx.nowMs);
  if (!fact.ok) return failFrom(fact.error, "provider query: ");
  if (fact.value.kind === "pending") return done("still_pending", { status: order.status });
  const settled = await settleOrder(ctx.env, fact.value, "admin", ctx.nowMs);
  if (!settled.ok) return failFrom(settled.error, "settle: ");
  return done(settled.value.outcome, { fact: fact.value.kind, status: settled.value.status });
}

export function syncOrder(ctx: ActionContext, orderId: string): Promise<ActionResult> {
  return perform(ctx, { action: "sync", orderId }, async () => {
    const order = await loadOrder(ctx, orderId);
    return isResult(order) ? order : syncLoaded(ctx, order);
  });
}

/** Syncs every order matching the filter, at most `limit` (≤ SYNC_ORDERS_MAX); each one is recorded. */
export async function syncOrders(
  ctx: ActionContext,
  filter: { status: string; provider?: string; from?: string; to?: string; limit: number },
): Promise<
  { ok: true; results: Array<{ orderId: string; outcome: string }> } | { ok: false; error: ActionFailure }
> {
  const page = await ctx.admin.searchOrders({
    ...filter,
    limit: Math.min(filter.limit, SYNC_ORDERS_MAX),
    offset: 0,
  });
  if (!page.ok) return { ok: false, error: actionFailure(page.error) };
  const results: Array<{ orderId: string; outcome: string }> = [];
  for (const row of page.value.orders) {
    const orderId = String(row.id);
    const result = await syncOrder(ctx, orderId);
    results.push({ orderId, outcome: result.ok ? result.outcome : `failed:${result.error.kind}` });
  }
  return { ok: true, results };
}

/** Fetches the event from Stripe with our secret key (trusted) and runs it like a webhook delivery. */
export function replayStripeEvent(ctx: ActionContext, eventId: string): Promise<ActionResult> {
  return perform(ctx, { action: "replay_stripe_event", target: eventId }, async () => {
    const stripe = stripeFor(ctx.deps);
    if (!stripe) return fail("conflict", "stripe is not configured");
    const fetched = await stripe.retrieveEvent(eventId);
    if (!fetched.ok)
      return fetched.missing ? fail("not_found", `event ${eventId}`) : fail("unavailable", fetched.message);
    const applied = await applyStripeEvent(ctx.env, ctx.deps, fetched.event, "admin", ctx.nowMs);
    if (applied.status === "failed") return failFrom(applied.error);
    return done(applied.status === "done" ? applied.outcome : "duplicate", { order_id: applied.orderId });
  });
}

export function repair(
  ctx: ActionContext,
  orderId: string,
  kind: "grant" | "balance",
): Promise<ActionResult> {
  return perform(ctx, { action: `repair_${kind}`, orderId }, async () => {
    const order = await loadOrder(ctx, orderId);
    if (isResult(order)) return order;
    if (kind === "grant") {
      const granted = await ctx.admin.repairGrant(orderId, ctx.nowMs);
      return granted.ok ? done(granted.value.outcome) : failFrom(granted.error);
    }
    const repaired = await ctx.admin.repairBalance(order.userId, ctx.nowMs);
    return repaired.ok
      ? done("balance_recomputed", { delta: repaired.value.delta })
      : failFrom(repaired.error);
  });
}

/** Closes the order at the provider first, so it can no longer be paid, then expires it here. */
export function expire(ctx: ActionContext, orderId: string): Promise<ActionResult> {
  return perform(ctx, { action: "expire", orderId }, async () => {
    const order = await loadOrder(ctx, orderId);
    if (isResult(order)) return order;
    if (order.status !== "pending") return fail("conflict", `order is ${order.status}`);
    const api = providerApiFor(ctx.deps, order.provider);
    if (!api) return fail("conflict", `provider ${order.provider} is not configured`);
    const closed = await api.closeOrder(order, ctx.nowMs);
    if (!closed.ok) return failFrom(closed.error, "provider close: ");
    const expired = await ctx.deps.store.expireOrder({
      orderId,
      reason: `closed by ${ctx.actor}`,
      nowMs: ctx.nowMs,
    });
    return expired.ok ? done(expired.value.outcome) : failFrom(expired.error);
  });
}

/** The payment a refund is for and the key parts it is made with; a failure when it cannot be refunded. */
async function refundTarget(
  ctx: ActionContext,
  order: Order,
  amountMinor: number | null,
  paymentRef: string | null,
): Promise<{ target: RefundTarget; refundedMinor: number } | ActionResult> {
  const detail = await ctx.admin.orderDetail(order.id);
  if (!detail.ok) return failFrom(detail.error);
  const payments = orderPayments(detail.value ?? {});
  const payment = payments.find((p) => (paymentRef ? p.ref === paymentRef : p.primary));
  if (paymentRef && !payment) return fail("not_found", `payment ${paymentRef} of order ${order.id}`);
  const extra = payment !== undefined && !payment.primary;
  if (!extra && order.status !== "fulfilled" && order.status !== "partially_refunded") {
    return fail("conflict", `order is ${order.status}`);
  }
  const remaining = payment?.remainingMinor ?? null;
  if (remaining !== null && (remaining === 0 || (amountMinor ?? 0) > remaining)) {
    return fail("conflict", `refund of ${amountMinor ?? "the rest"} exceeds the ${remaining} left to refund`);
  }
  if (extra) {
    const target = { extra: true as const, paymentRef: payment.ref, totalMinor: payment.amountMinor };
    return { target, refundedMinor: payment.refundedMinor };
  }
  return { target: { extra: false }, refundedMinor: Number(detail.value?.refunded_minor ?? 0) };
}

/**
 * Refunds at the provider; when the provider reports it succeeded, its fact is settled at once. Without
 * `paymentRef` it refunds the order's credited payment; with one, that payment of the order (a second or
 * mismatched payment, whatever the order's state). Never more than what is left of the payment.
 */
export function refund(
  ctx: ActionContext,
  orderId: string,
  amountMinor: number | null,
  paymentRef: string | null = null,
): Promise<ActionResult> {
  return perform(ctx, { action: "refund", orderId, target: paymentRef ?? undefined }, async () => {
    const order = await loadOrder(ctx, orderId);
    if (isResult(order)) return order;
    const chosen = await refundTarget(ctx, order, amountMinor, paymentRef);
    if ("ok" in chosen) return chosen;
    const made = await refundAtProvider(
      ctx.deps,
      order,
      amountMinor,
      chosen.refundedMinor,
      ctx.nowMs,
      chosen.target,
    );
    if (!made.ok) return failFrom(made.error);
    const { fact, refundRef, status } = made.value;
    if (!fact) return done(`refund_${status}`, { refund_ref: refundRef });
    const settled = await settleOrder(ctx.env, fact, "admin", ctx.nowMs);
    if (!settled.ok)
      return done("refund_made_settle_pending", { refund_ref: refundRef, error: settled.error.message });
    return done(settled.value.outcome, {
      refund_ref: refundRef,
      amount_minor: fact.kind === "refunded" ? fact.amountMinor : null,
    });
  });
}

export function resolveReview(
  ctx: ActionContext,
  orderId: string,
  resolution: "fulfil" | "reject",
): Promise<ActionResult> {
  return perform(ctx, { action: `resolve_review_${resolution}`, orderId }, async () => {
    const order = await loadOrder(ctx, orderId);
    if (isResult(order)) return order;
    if (order.status !== "needs_review") return fail("conflict", `order is ${order.status}`);
    const resolved = await ctx.admin.resolveReview(
      orderId,
      resolution,
      `${ctx.actor}: ${ctx.reason}`,
      ctx.nowMs,
    );
    if (!resolved.ok) return failFrom(resolved.error);
    // The review's incident resolves now (and a paid-twice order names what to refund), not at the next drain.
    await deliverIncidents(incidentsOf(resolved.value), ctx.nowMs, ctx.deps);
    return done(resolved.value.outcome);
  });
}

export function runJobNow(ctx: ActionContext, job: JobName): Promise<ActionResult> {
  return perform(ctx, { action: "run_job", target: job }, async () => {
    const status = await runJob(job, JOBS[job], ctx.env, ctx.deps, ctx.nowMs, Date.now);
    return done(status);
  });
}

export type Triage = { kind: "acknowledge" } | { kind: "mute"; minutes: number } | { kind: "resolve" };

export function triageIncident(ctx: ActionContext, key: string, triage: Triage): Promise<ActionResult> {
  return perform(ctx, { action: `incident_${triage.kind}`, target: key }, async () => {
    const { alerts } = ctx.deps;
    if (triage.kind === "resolve") {
      const resolved = await alerts.resolve(key, ctx.nowMs);
      return resolved.ok ? done("resolved") : failFrom(resolved.error);
    }
    const answer =
      triage.kind === "acknowledge"
        ? await alerts.acknowledge(key, ctx.actor, ctx.nowMs)
        : await alerts.mute(key, ctx.nowMs + triage.minutes * 60_000, ctx.actor, ctx.nowMs);
    if (!answer.ok) return failFrom(answer.error);
    return answer.value.found
      ? done(triage.kind === "acknowledge" ? "acknowledged" : "muted")
      : fail("not_found", `open incident ${key}`);
  });
}
