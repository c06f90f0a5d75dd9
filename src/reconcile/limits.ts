/**
 * Named limits of one reconcile run and the budget that enforces them. A run stops cleanly at the first
 * exhausted budget and leaves the rest due for the next run, so a backlog never turns into a run that
 * Cloudflare kills halfway (Workers Paid: 10,000 subrequests per invocation, 30 s CPU by default,
 * 15 min wall time for a cron). The provider's rate is not a run's: it is the deployment's provider
 * budget (src/budget/), shared by every run at once.
 */

/** Orders checked in one run. */
export const RECONCILE_ORDERS_PER_TICK_MAX = 5_000;
/** Subrequests one run may spend (fetches, Supabase RPCs, Durable Object calls); the platform cap is 10,000. */
export const RECONCILE_SUBREQUESTS_PER_TICK_MAX = 9_000;
/** Wall time of one run, well before the next 5-minute tick starts. */
export const RECONCILE_WALL_MS_MAX = 240_000;
/** Orders checked at once (Workers allow 6 simultaneous outgoing connections per invocation). */
export const RECONCILE_CONCURRENCY = 6;
/** Orders leased per `lease_due_orders` call. */
export const RECONCILE_LEASE_PAGE = 200;
/** A leased order nobody finished is due again after this, in time for the next tick. */
export const RECONCILE_LEASE_SECONDS = 240;

export interface TickLimits {
  ordersMax: number;
  subrequestsMax: number;
  wallMsMax: number;
}

export const DEFAULT_TICK_LIMITS: TickLimits = {
  ordersMax: RECONCILE_ORDERS_PER_TICK_MAX,
  subrequestsMax: RECONCILE_SUBREQUESTS_PER_TICK_MAX,
  wallMsMax: RECONCILE_WALL_MS_MAX,
};

/** `provider_budget`: the deployment's provider budget refused a token (spent, paused or unreachable). */
export type StopReason = "orders" | "subrequests" | "wall_time" | "provider_budget";

export interface TickBudget {
  /** Reserves room for one unit of work costing `subrequests`; false once any budget is spent. */
  take(work: { orders: number; subrequests: number }): boolean;
  /** Counts subrequests spent beyond a reservation (retries, calls to the provider budget). */
  spend(subrequests: number): void;
  /** Stops the run for a reason found outside this budget. */
  halt(reason: StopReason): void;
  stoppedBy(): StopReason | null;
  left(): { orders: number; subrequests: number; wallMs: number };
}

export function createTickBudget(limits: TickLimits, clock: () => number): TickBudget {
  const startedMs = clock();
  let orders = 0;
  let subrequests = 0;
  let stopped: StopReason | null = null;
  const check = (extraOrders: number, extraSubrequests: number): StopReason | null => {
    if (clock() - startedMs >= limits.wallMsMax) return "wall_time";
    if (orders + extraOrders > limits.ordersMax) return "orders";
    if (subrequests + extraSubrequests > limits.subrequestsMax) return "subrequests";
    return null;
  };
  return {
    take(work) {
      stopped = stopped ?? check(work.orders, work.subrequests);
      if (stopped) return false;
      orders += work.orders;
      subrequests += work.subrequests;
      return true;
    },
    spend(extra) {
      subrequests += extra;
    },
    halt(reason) {
      stopped = stopped ?? reason;
    },
    stoppedBy: () => stopped,
    left: () => ({
      orders: limits.ordersMax - orders,
      subrequests: limits.subrequestsMax - subrequests,
      wallMs: Math.max(0, limits.wallMsMax - (clock() - startedMs)),
    }),
  };
}
