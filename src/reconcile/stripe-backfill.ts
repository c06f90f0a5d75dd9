/**
 * Stripe backfill: every event of the types payguard handles since a stored cursor (minus a small overlap
 * window, so an event created in the same second as the last one is never skipped) goes through the
 * webhook's own path (`applyStripeEvent`); the inbox drops what was already applied. Stripe lists newest
 * first, so the pages are collected, then applied oldest first, and the cursor moves only after a page
 * has been applied. Sessions the app created itself are found by `metadata.order_id` /
 * `client_reference_id`, like a webhook.
 */
import type Stripe from "stripe";
import type { Deps } from "../deps.ts";
import { retryable } from "../ledger/result.ts";
import { log } from "../log.ts";
import { applyStripeEvent } from "../providers/stripe/apply-event.ts";
import { STRIPE_EVENT_TYPES } from "../providers/stripe/event-types.ts";
import type { CallOutcome, Limiter } from "./limiter.ts";
import { RECONCILE_CONCURRENCY, type TickBudget } from "./limits.ts";
import { chunk, pool } from "./plan.ts";

export const STRIPE_CURSOR = "stripe_events";
/** Events created this long before the cursor are listed again (the inbox dedups them). */
export const BACKFILL_OVERLAP_S = 300;
/** Without a cursor (first run) the backfill starts this far back. */
export const BACKFILL_FIRST_WINDOW_S = 24 * 3600;
/** Pages listed per run; beyond it the run applies what it has and keeps the cursor (reports partial). */
export const BACKFILL_PAGES_MAX = 50;
export const STRIPE_EVENTS_PAGE = 100;
/** Subrequests one event may cost: inbox record, OrderGuard settle, inbox finish. */
const SUBREQUESTS_PER_EVENT = 3;

export interface BackfillStats {
  listed: number;
  applied: number;
  duplicates: number;
  failed: number;
  cursor: number | null;
  complete: boolean;
}

interface Listed {
  events: Stripe.Event[];
  complete: boolean;
}

/** Newest first, every page since `sinceS`, as far as the page and subrequest budgets allow. */
async function listSince(
  stripe: Stripe,
  limiter: Limiter,
  budget: TickBudget,
  sinceS: number,
): Promise<Listed> {
  const events: Stripe.Event[] = [];
  let startingAfter: string | undefined;
  for (let page = 0; page < BACKFILL_PAGES_MAX; page += 1) {
    if (!budget.take({ orders: 0, subrequests: 1 })) return { events, complete: false };
    const answer = await limiter.call(async (): Promise<CallOutcome<Stripe.ApiList<Stripe.Event>>> => {
      try {
        const list = await stripe.events.list({
          types: [...STRIPE_EVENT_TYPES],
          created: { gte: sinceS },
          limit: STRIPE_EVENTS_PAGE,
          ...(startingAfter && { starting_after: startingAfter }),
        });
        return { rateLimited: false, value: list };
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 429) return { rateLimited: true };
        throw error;
      }
    });
    if (!answer.ok) return { events, complete: false };
    events.push(...answer.value.data);
    if (!answer.value.has_more) return { events, complete: true };
    startingAfter = answer.value.data.at(-1)?.id;
  }
  return { events, complete: false };
}

/** The object's order, so events of one order are applied one after another in their own order. */
function orderKey(event: Stripe.Event): string {
  const object = event.data.object as { id?: string; metadata?: Record<string, string> | null };
  return (
    object.metadata?.order_id ??
    (object as { client_reference_id?: string }).client_reference_id ??
    object.id ??
    event.id
  );
}

async function applyPage(env: Env, deps: Deps, page: Stripe.Event[], nowMs: number, stats: BackfillStats) {
  const byOrder = new Map<string, Stripe.Event[]>();
  for (const event of page) byOrder.set(orderKey(event), [...(byOrder.get(orderKey(event)) ?? []), event]);
  let failed = false;
  await pool([...byOrder.values()], RECONCILE_CONCURRENCY, async (events) => {
    for (const event of events) {
      const outcome = await applyStripeEvent(env, deps, event, "reconcile", nowMs);
      if (outcome.status === "duplicate") stats.duplicates += 1;
      else if (outcome.status === "done") stats.applied += 1;
      else {
        stats.failed += 1;
        log("warn", "backfill_event_failed", { event_id: event.id, error: outcome.error });
        // A permanent failure is recorded in the inbox (and audited); a transient or misconfigured one is retried.
        if (retryable(outcome.error)) failed = true;
      }
    }
    return true;
  });
  return !failed;
}

export async function backfillStripe(
  env: Env,
  deps: Deps,
  stripe: Stripe,
  limiter: Limiter,
  budget: TickBudget,
  nowMs: number,
): Promise<BackfillStats> {
  const stored = await deps.store.getSyncCursor(STRIPE_CURSOR);
  if (!stored.ok) throw new Error(`cursor: ${stored.error.message}`);
  const cursorS = (stored.value as { createdS?: number } | null)?.createdS;
  const sinceS =
    cursorS === undefined ? Math.floor(nowMs / 1000) - BACKFILL_FIRST_WINDOW_S : cursorS - BACKFILL_OVERLAP_S;
  const stats: BackfillStats = {
    listed: 0,
    applied: 0,
    duplicates: 0,
    failed: 0,
    cursor: cursorS ?? null,
    complete: false,
  };
  const listed = await listSince(stripe, limiter, budget, sinceS).catch((error: unknown) => {
    // Stripe down or refusing: nothing applied, the cursor stays, the next run lists again.
    log("warn", "backfill_list_failed", { error: (error as Error).message });
    return null;
  });
  if (!listed) return stats;
  stats.listed = listed.events.length;
  const oldestFirst = [...listed.events].reverse();
  for (const page of chunk(oldestFirst, STRIPE_EVENTS_PAGE)) {
    if (!budget.take({ orders: 0, subrequests: page.length * SUBREQUESTS_PER_EVENT + 1 })) return stats;
    if (!(await applyPage(env, deps, page, nowMs, stats))) return stats;
    // Only a complete listing proves nothing older is missing below this page.
    if (!listed.complete) continue;
    const newestS = Math.max(...page.map((event) => event.created), cursorS ?? 0);
    const moved = await deps.store.setSyncCursor({
      name: STRIPE_CURSOR,
      value: { createdS: newestS },
      nowMs,
    });
    if (!moved.ok) throw new Error(`cursor: ${moved.error.message}`);
    stats.cursor = newestS;
  }
  stats.complete = listed.complete;
  return stats;
}
