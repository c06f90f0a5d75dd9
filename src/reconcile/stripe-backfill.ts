/**
 * Stripe backfill: every event of the types payguard handles since a stored cursor goes through the webhook's
 * own path (`applyStripeEvent`); the inbox drops what was already applied. The cursor is the newest event
 * applied (its id and time). From it the backfill walks forward in time, page by page (`ending_before`: the
 * page of events just newer than the cursor), applying each page oldest first and moving the cursor after
 * it, so a backlog bigger than one run is worked through over the next runs, never skipped, never redone.
 * Without an event id yet (a first run, or a cursor from an older version) it lists the window since the
 * cursor time newest first to the end, then applies it oldest first the same way. Sessions the app created
 * itself are found by `metadata.order_id` / `client_reference_id`, like a webhook.
 */
import type Stripe from "stripe";
import { type CallOutcome, retryRateLimited } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { retryable } from "../ledger/result.ts";
import { log } from "../log.ts";
import { applyStripeEvent } from "../providers/stripe/apply-event.ts";
import { STRIPE_EVENT_TYPES } from "../providers/stripe/event-types.ts";
import { RECONCILE_CONCURRENCY, type TickBudget } from "./limits.ts";
import { chunk, pool } from "./plan.ts";

export const STRIPE_CURSOR = "stripe_events";
/** A cursor without an event id lists again from this long before its time (the inbox dedups them). */
export const BACKFILL_OVERLAP_S = 300;
/** Without a cursor (first run) the backfill starts this far back. */
export const BACKFILL_FIRST_WINDOW_S = 24 * 3600;
/** Pages one run lists at most (one subrequest each); a window longer than this is listed again next run. */
export const BACKFILL_PAGES_MAX = 500;
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

/**
 * Where the backfill stands: the newest event applied (`eventId` is absent in cursors of older versions).
 * `seekAfter`: a window too long to list in one run is listed on from this event (toward older ones) by the
 * next run, until its start is found.
 */
interface Cursor {
  createdS: number;
  eventId?: string;
  seekAfter?: string;
}

interface Listed {
  /** Oldest first. */
  events: Stripe.Event[];
  complete: boolean;
}

type ListParams = { starting_after?: string; ending_before?: string; created?: { gte: number } };

/**
 * One page of `events.list` for payguard's types, or null when the run's budget or Stripe's rate limit
 * stops it (the client's provider budget waits out a 429's Retry-After before each retry).
 */
async function listPage(stripe: Stripe, budget: TickBudget, params: ListParams) {
  if (!budget.take({ orders: 0, subrequests: 1 })) return null;
  const answer = await retryRateLimited(async (): Promise<CallOutcome<Stripe.ApiList<Stripe.Event>>> => {
    try {
      const list = await stripe.events.list({
        types: [...STRIPE_EVENT_TYPES],
        limit: STRIPE_EVENTS_PAGE,
        ...params,
      });
      return { rateLimited: false, value: list };
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 429) return { rateLimited: true };
      throw error;
    }
  });
  return answer.ok ? answer.value : null;
}

/**
 * The window since `sinceS`, newest first down to its start (complete), from `startingAfter` when given, as
 * far as the page cap and the budget allow.
 */
async function listSince(
  stripe: Stripe,
  budget: TickBudget,
  sinceS: number,
  from: string | undefined,
): Promise<Listed> {
  const newestFirst: Stripe.Event[] = [];
  let startingAfter = from;
  for (let page = 0; page < BACKFILL_PAGES_MAX; page += 1) {
    const list = await listPage(stripe, budget, {
      created: { gte: sinceS },
      ...(startingAfter && { starting_after: startingAfter }),
    });
    if (!list) break;
    newestFirst.push(...list.data);
    if (!list.has_more) return { events: newestFirst.reverse(), complete: true };
    startingAfter = list.data.at(-1)?.id ?? startingAfter;
  }
  return { events: newestFirst.reverse(), complete: false };
}

/**
 * The page after the cursor: the events just newer than it, oldest first, and whether more are newer still.
 * Null when the budget or Stripe's rate limit stopped it; `missing` when Stripe no longer lists that event.
 */
async function pageAfter(stripe: Stripe, budget: TickBudget, eventId: string) {
  const list = await listPage(stripe, budget, { ending_before: eventId }).catch((error: unknown) => {
    // Events are listed for 30 days: a cursor older than that starts again from its time.
    if ((error as { code?: string }).code === "resource_missing") return "missing" as const;
    throw error;
  });
  if (list === null || list === "missing") return list;
  return { events: [...list.data].reverse(), hasMore: list.has_more };
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

async function saveCursor(deps: Deps, value: Cursor, nowMs: number) {
  const moved = await deps.store.setSyncCursor({ name: STRIPE_CURSOR, value, nowMs });
  if (!moved.ok) throw new Error(`cursor: ${moved.error.message}`);
}

/** Applies pages oldest first, moving the cursor after each; false when the budget or a failure stopped it. */
async function applyInOrder(
  env: Env,
  deps: Deps,
  events: Stripe.Event[],
  budget: TickBudget,
  nowMs: number,
  stats: BackfillStats,
): Promise<boolean> {
  for (const page of chunk(events, STRIPE_EVENTS_PAGE)) {
    if (!budget.take({ orders: 0, subrequests: page.length * SUBREQUESTS_PER_EVENT + 1 })) return false;
    if (!(await applyPage(env, deps, page, nowMs, stats))) return false;
    const newest = page.at(-1) as Stripe.Event;
    await saveCursor(deps, { createdS: newest.created, eventId: newest.id }, nowMs);
    stats.cursor = newest.created;
  }
  return true;
}

/** From an event id: page after page forward in time, until nothing is newer or the budget ends. */
async function walkForward(
  env: Env,
  deps: Deps,
  stripe: Stripe,
  budget: TickBudget,
  cursor: Required<Cursor>,
  nowMs: number,
  stats: BackfillStats,
) {
  let eventId = cursor.eventId;
  for (let page = 0; page < BACKFILL_PAGES_MAX; page += 1) {
    const next = await pageAfter(stripe, budget, eventId);
    if (next === "missing") return "missing";
    if (next === null) return "stopped";
    stats.listed += next.events.length;
    if (!(await applyInOrder(env, deps, next.events, budget, nowMs, stats))) return "stopped";
    if (!next.hasMore || next.events.length === 0) return "complete";
    eventId = (next.events.at(-1) as Stripe.Event).id;
  }
  return "stopped";
}

export async function backfillStripe(
  env: Env,
  deps: Deps,
  stripe: Stripe,
  budget: TickBudget,
  nowMs: number,
): Promise<BackfillStats> {
  const stored = await deps.store.getSyncCursor(STRIPE_CURSOR);
  if (!stored.ok) throw new Error(`cursor: ${stored.error.message}`);
  const cursor = stored.value as Cursor | null;
  const stats: BackfillStats = {
    listed: 0,
    applied: 0,
    duplicates: 0,
    failed: 0,
    cursor: cursor?.createdS ?? null,
    complete: false,
  };
  try {
    if (cursor?.eventId) {
      const walked = await walkForward(env, deps, stripe, budget, cursor as Required<Cursor>, nowMs, stats);
      if (walked !== "missing") {
        stats.complete = walked === "complete";
        return stats;
      }
    }
    const sinceS =
      cursor === null
        ? Math.floor(nowMs / 1000) - BACKFILL_FIRST_WINDOW_S
        : cursor.createdS - BACKFILL_OVERLAP_S;
    const listed = await listSince(stripe, budget, sinceS, cursor?.seekAfter);
    stats.listed += listed.events.length;
    if (listed.complete) {
      // The window's start is found: applied oldest first from there, then walked forward by later runs.
      stats.complete = await applyInOrder(env, deps, listed.events, budget, nowMs, stats);
    } else if (listed.events[0]) {
      // Longer than one run lists: the next run lists on from the oldest event seen here.
      await saveCursor(
        deps,
        { createdS: sinceS + BACKFILL_OVERLAP_S, seekAfter: listed.events[0].id },
        nowMs,
      );
    }
  } catch (error) {
    // Stripe down or refusing: what was applied stays applied, the cursor stays, the next run goes on.
    log("warn", "backfill_list_failed", { error: (error as Error).message });
  }
  return stats;
}
