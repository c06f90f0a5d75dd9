/**
 * Fan-out for a backlog one invocation cannot check within Cloudflare's limits (10,000 subrequests per
 * invocation): the cron tick that stops at its order or subrequest budget queues a few messages, and each
 * queue consumer invocation checks more due orders with its own budget, queueing one follow-up while
 * orders remain. Leases keep parallel consumers off each other's orders, and every consumer takes its
 * provider tokens from the deployment's one provider budget (src/budget/), so more consumers never raise
 * the rate at the provider; `max_concurrency` in wrangler.toml bounds how many run at once.
 */
import { BACKGROUND, openProviderBudget, realClock, type WaitClock } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { checkDueOrders } from "./due-orders.ts";
import { createTickBudget, DEFAULT_TICK_LIMITS, type TickBudget, type TickLimits } from "./limits.ts";
import type { JobOutcome } from "./scheduled.ts";

/** Consumers a tick starts at once: more parallel lanes for the backlog, the same provider rate. */
export const RECONCILE_FANOUT_PARALLEL = 2;

export interface ReconcileMessage {
  kind: "reconcile_due";
}

export function isReconcileMessage(body: unknown): body is ReconcileMessage {
  return (body as { kind?: unknown } | null)?.kind === "reconcile_due";
}

/**
 * True when the run stopped for lack of its own budget: more may be due, and another invocation can
 * check it. Not when the provider budget refused (more invocations would not get more tokens).
 */
export function backlogLeft(budget: TickBudget): boolean {
  const stopped = budget.stoppedBy();
  return stopped === "orders" || stopped === "subrequests";
}

export async function fanOut(env: Env, messages: number): Promise<number> {
  if (messages <= 0) return 0;
  const body: ReconcileMessage = { kind: "reconcile_due" };
  await env.RECONCILE_QUEUE.sendBatch(Array.from({ length: messages }, () => ({ body })));
  return messages;
}

/** One queue message: check due orders with a fresh budget; queue a follow-up if the backlog remains. */
export async function runFanoutShare(
  env: Env,
  deps: Deps,
  nowMs: number,
  limits: TickLimits = DEFAULT_TICK_LIMITS,
  clock: WaitClock = realClock,
): Promise<JobOutcome> {
  const budget = createTickBudget(limits, clock.now);
  const providers = openProviderBudget(deps, { ...BACKGROUND, clock, onSubrequest: () => budget.spend(1) });
  const due = await checkDueOrders({ env, deps, budget, providers }, nowMs);
  const followUp = backlogLeft(budget) ? await fanOut(env, 1) : 0;
  return {
    status: budget.stoppedBy() || due.deferred > 0 ? "partial" : "ok",
    detail: {
      ...due,
      stopped_by: budget.stoppedBy(),
      fanned_out: followUp,
      calls: providers.stats(),
      budget_left: budget.left(),
    },
  };
}
