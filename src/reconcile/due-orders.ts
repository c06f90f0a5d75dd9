/**
 * Checks due pending orders at their provider: lease a page (so an overlapping run never works the same
 * order), ask the provider with a token from the deployment's provider budget, and settle what it says
 * through the order's OrderGuard. A budget that refuses (spent, paused past the wait, unreachable) stops
 * the run: the provider was not asked, and the leased orders are due again when their lease runs out.
 * At expiry the order is closed at the provider first and asked once more, so a payment that landed
 * before the close is credited, never expired. Every check leaves its result on the order (paid, unpaid,
 * closed, or the failed call's code), so the console can say why an order was not credited.
 */
import {
  type CallOutcome,
  isBudgetRefusal,
  type ProviderBudget,
  retryRateLimited,
} from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { settleOrder } from "../guard/settle-order.ts";
import {
  type CheckOutcome,
  checkErrorText,
  checkOutcomeOf,
  RATE_LIMITED_CODE,
} from "../ledger/check-outcome.ts";
import type { ProviderApi } from "../ledger/ports.ts";
import { err, type InfraError, type Result, retryable } from "../ledger/result.ts";
import type { Order, PaymentFact } from "../ledger/types.ts";
import { log } from "../log.ts";
import { providerApiFor } from "../providers/registry.ts";
import {
  RECONCILE_CONCURRENCY,
  RECONCILE_LEASE_PAGE,
  RECONCILE_LEASE_SECONDS,
  type TickBudget,
} from "./limits.ts";
import { checkableInTimeLeft, decide, type OrderStep, pool, stepFor, subrequestsFor } from "./plan.ts";

export interface DueStats {
  scanned: number;
  settled: number;
  expired: number;
  failed: number;
  rechecked: number;
  /** Of those, due again soon rather than on the backoff (the payer was confirming). */
  recheck_soon: number;
  /** Left for the next run: the provider kept answering 429, a transient error, or no provider token. */
  deferred: number;
  errors: number;
}

export interface DueContext {
  env: Env;
  deps: Deps;
  budget: TickBudget;
  providers: ProviderBudget;
}

const emptyStats = (): DueStats => ({
  scanned: 0,
  settled: 0,
  expired: 0,
  failed: 0,
  rechecked: 0,
  recheck_soon: 0,
  deferred: 0,
  errors: 0,
});

/** A provider answer as the retry sees it: a 429 (the budget paused the provider already) or anything else. */
function asOutcome<T>(result: Result<T, InfraError>): CallOutcome<Result<T, InfraError>> {
  const error = result.ok ? null : (result.error as InfraError & { status?: number });
  if (error?.status === 429) return { rateLimited: true };
  return { rateLimited: false, value: result };
}

const SETTLED_OUTCOMES = new Set(["fulfilled", "created_from_metadata", "late_payment"]);

/** What a check that never got an answer (the provider kept answering 429) records. */
const RATE_LIMITED_ERROR: InfraError = {
  kind: "transient",
  code: RATE_LIMITED_CODE,
  message: "provider kept answering 429",
};

/** Records the check's result for the operator; best effort, the settlement does not wait on it. */
async function noteResult(
  deps: Deps,
  order: Order,
  nowMs: number,
  result: { outcome: CheckOutcome; error?: string; count: boolean },
) {
  const noted = await deps.store.noteCheck({ orderId: order.id, nowMs, ...result });
  if (!noted.ok) log("warn", "reconcile_note_check_failed", { order_id: order.id, code: noted.error.code });
}

async function askProvider(
  api: ProviderApi,
  order: Order,
  step: OrderStep,
  nowMs: number,
): Promise<"deferred" | Result<PaymentFact, InfraError>> {
  if (step === "close_then_query") {
    const closed = await retryRateLimited(async () => asOutcome(await api.closeOrder(order, nowMs)));
    if (!closed.ok) return "deferred";
    // A permanent refusal (already paid, session no longer open) is answered by the query below.
    if (!closed.value.ok && retryable(closed.value.error)) return err(closed.value.error);
  }
  const queried = await retryRateLimited(async () => asOutcome(await api.queryOrder(order, nowMs)));
  return queried.ok ? queried.value : "deferred";
}

async function checkOrder(context: DueContext, order: Order, nowMs: number, stats: DueStats) {
  const { env, deps } = context;
  const api = providerApiFor(deps, order.provider, context.providers);
  if (!api) {
    stats.errors += 1;
    log("error", "reconcile_provider_disabled", { order_id: order.id, provider: order.provider });
    return;
  }
  const step = stepFor(order, nowMs);
  const answer = await askProvider(api, order, step, nowMs);
  if (answer === "deferred" || !answer.ok) {
    const error = answer === "deferred" ? RATE_LIMITED_ERROR : answer.error;
    const refused = isBudgetRefusal(error);
    if (refused) context.budget.halt("provider_budget");
    stats[retryable(error) ? "deferred" : "errors"] += 1;
    if (answer !== "deferred" && !refused)
      log("warn", "reconcile_query_failed", { order_id: order.id, code: error.code });
    // A failed call is an attempt (not a refused token: nothing was asked); due again when the lease ends.
    await noteResult(deps, order, nowMs, { outcome: "error", error: checkErrorText(error), count: !refused });
    return;
  }
  const decision = decide(answer.value, step);
  if (decision.kind === "recheck") {
    const checked = await deps.store.recordCheck({
      orderId: order.id,
      nowMs,
      delaySeconds: decision.delaySeconds,
      outcome: checkOutcomeOf(answer.value),
    });
    stats[checked.ok ? "rechecked" : "errors"] += 1;
    if (checked.ok && decision.delaySeconds !== undefined) stats.recheck_soon += 1;
    return;
  }
  await noteResult(deps, order, nowMs, { outcome: checkOutcomeOf(decision.fact), count: true });
  const settled = await settleOrder(env, decision.fact, "reconcile", nowMs);
  if (!settled.ok) {
    stats.errors += 1;
    log("error", "reconcile_settle_failed", { order_id: order.id, error: settled.error.message });
    return;
  }
  const outcome = settled.value.outcome;
  if (SETTLED_OUTCOMES.has(outcome)) stats.settled += 1;
  else if (outcome === "expired") stats.expired += 1;
  else if (outcome === "failed") stats.failed += 1;
}

/** Leases and checks due orders page by page until none is due or a budget runs out. */
export async function checkDueOrders(context: DueContext, nowMs: number): Promise<DueStats> {
  const stats = emptyStats();
  const { budget, deps } = context;
  const startWallMs = budget.left().wallMs;
  for (;;) {
    const left = budget.left();
    const affordable = Math.floor((left.subrequests - 1) / subrequestsFor("close_then_query"));
    const inTime = checkableInTimeLeft(stats.scanned, startWallMs - left.wallMs, left.wallMs);
    const limit = Math.min(RECONCILE_LEASE_PAGE, left.orders, affordable, inTime);
    // Out of room for even one more order: record why, so the caller can fan the backlog out.
    if (limit <= 0 && inTime <= 0) budget.halt("wall_time");
    else if (limit <= 0) budget.take({ orders: 1, subrequests: subrequestsFor("close_then_query") });
    if (limit <= 0 || !budget.take({ orders: 0, subrequests: 1 })) break;
    const leased = await deps.store.leaseDueOrders({ limit, leaseSeconds: RECONCILE_LEASE_SECONDS, nowMs });
    if (!leased.ok) throw new Error(`lease_due_orders: ${leased.error.message}`);
    if (leased.value.length === 0) break;
    await pool(leased.value, RECONCILE_CONCURRENCY, async (order) => {
      if (!budget.take({ orders: 1, subrequests: subrequestsFor(stepFor(order, nowMs)) })) return false;
      stats.scanned += 1;
      await checkOrder(context, order, nowMs, stats);
      return true;
    });
    if (budget.stoppedBy()) break;
  }
  return stats;
}
