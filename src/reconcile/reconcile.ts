/**
 * The 5-minute reconcile run: the Stripe backfill first (one listing settles many orders), then the due
 * pending orders of every provider. Both share one budget and one limiter per provider, the backfill at
 * most its share of the subrequests, so a window of many events never leaves the due orders unchecked;
 * a backlog of due orders beyond the budget is fanned out to the queue. The run reports `partial` when it stopped at a budget or left
 * orders to the next run.
 */
import type { Deps } from "../deps.ts";
import { stripeClientFor } from "../providers/registry.ts";
import { checkDueOrders } from "./due-orders.ts";
import { backlogLeft, fanOut, RECONCILE_FANOUT_PARALLEL } from "./fanout.ts";
import { createLimiters, type LimiterClock, realClock } from "./limiter.ts";
import { createTickBudget, DEFAULT_TICK_LIMITS, type TickLimits } from "./limits.ts";
import type { JobOutcome } from "./scheduled.ts";
import { backfillStripe } from "./stripe-backfill.ts";

/** The share of a run's subrequests the backfill may spend; the due orders have the rest. */
export const BACKFILL_SUBREQUEST_SHARE = 0.5;

export async function runReconcile(
  env: Env,
  deps: Deps,
  nowMs: number,
  limits: TickLimits = DEFAULT_TICK_LIMITS,
  clock: LimiterClock = realClock,
): Promise<JobOutcome> {
  const budget = createTickBudget(limits, clock.now);
  const limiters = createLimiters(clock);
  const stripe = stripeClientFor(deps);
  const backfillMax = Math.floor(limits.subrequestsMax * BACKFILL_SUBREQUEST_SHARE);
  const backfillBudget = createTickBudget({ ...limits, subrequestsMax: backfillMax }, clock.now);
  const backfill = stripe
    ? await backfillStripe(env, deps, stripe, limiters.stripe, backfillBudget, nowMs)
    : null;
  budget.spend(backfillMax - backfillBudget.left().subrequests);
  const due = await checkDueOrders({ env, deps, budget, limiters }, nowMs);
  const stoppedBy = budget.stoppedBy();
  const fannedOut = backlogLeft(budget) ? await fanOut(env, RECONCILE_FANOUT_PARALLEL) : 0;
  const partial = stoppedBy !== null || due.deferred > 0 || (backfill !== null && !backfill.complete);
  return {
    status: partial ? "partial" : "ok",
    detail: {
      ...due,
      backfill,
      stopped_by: stoppedBy,
      fanned_out: fannedOut,
      calls: { stripe: limiters.stripe.stats(), wechatpay: limiters.wechatpay.stats() },
      budget_left: budget.left(),
    },
  };
}
