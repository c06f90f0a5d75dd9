/**
 * The 5-minute reconcile run: the Stripe backfill first (one listing settles many orders), then the due
 * pending orders of every provider, then the subscriptions whose current period has no paid invoice yet. Both share one budget, the backfill at most its share of the
 * subrequests, so a window of many events never leaves the due orders unchecked; every provider call
 * takes its token from the deployment's provider budget, whose Durable Object calls count as subrequests
 * of whichever part made them. A backlog of due orders beyond the budget is fanned out to the queue. The
 * run reports `partial` when it stopped at a budget or left orders to the next run.
 */
import { BACKGROUND, openProviderBudget, realClock, type WaitClock } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { stripeClientFor } from "../providers/registry.ts";
import { checkDueOrders } from "./due-orders.ts";
import { recheckSubscriptions } from "./due-subscriptions.ts";
import { backlogLeft, fanOut, RECONCILE_FANOUT_PARALLEL } from "./fanout.ts";
import { createTickBudget, DEFAULT_TICK_LIMITS, type TickBudget, type TickLimits } from "./limits.ts";
import type { JobOutcome } from "./scheduled.ts";
import { backfillStripe } from "./stripe-backfill.ts";

/** The share of a run's subrequests the backfill may spend; the due orders have the rest. */
export const BACKFILL_SUBREQUEST_SHARE = 0.5;

export async function runReconcile(
  env: Env,
  deps: Deps,
  nowMs: number,
  limits: TickLimits = DEFAULT_TICK_LIMITS,
  clock: WaitClock = realClock,
): Promise<JobOutcome> {
  const budget = createTickBudget(limits, clock.now);
  const backfillMax = Math.floor(limits.subrequestsMax * BACKFILL_SUBREQUEST_SHARE);
  const backfillBudget = createTickBudget({ ...limits, subrequestsMax: backfillMax }, clock.now);
  let spending: TickBudget = backfillBudget;
  const providers = openProviderBudget(deps, { ...BACKGROUND, clock, onSubrequest: () => spending.spend(1) });
  const stripe = stripeClientFor(deps, providers);
  const backfill = stripe ? await backfillStripe(env, deps, stripe, backfillBudget, nowMs) : null;
  budget.spend(backfillMax - backfillBudget.left().subrequests);
  spending = budget;
  const due = await checkDueOrders({ env, deps, budget, providers }, nowMs);
  const subscriptions = stripe ? await recheckSubscriptions(env, deps, stripe, nowMs) : null;
  const stoppedBy = budget.stoppedBy();
  const fannedOut = backlogLeft(budget) ? await fanOut(env, RECONCILE_FANOUT_PARALLEL) : 0;
  const partial =
    stoppedBy !== null ||
    due.deferred > 0 ||
    (backfill !== null && !backfill.complete) ||
    (subscriptions?.errors ?? 0) > 0;
  return {
    status: partial ? "partial" : "ok",
    detail: {
      ...due,
      backfill,
      subscriptions,
      stopped_by: stoppedBy,
      fanned_out: fannedOut,
      calls: providers.stats(),
      budget_left: budget.left(),
    },
  };
}
