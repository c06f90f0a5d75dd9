/**
 * The Stripe backfill reaches every event since its cursor, however many there are. Found by
 * `npm run chaos -- --seed 7 --orders 10000 --faults default` (issue 22: "every refund clawed back once:
 * ord_… (stripe, refund): 0 clawbacks"): both events of one refund (`charge.refunded`, `refund.created`)
 * were dropped, and the backfill, the only path that recovers a Stripe refund, never applied them. Two
 * things keep it from them once a run's window holds more events than one run can take:
 * - the listing (Stripe lists newest first) stops after BACKFILL_PAGES_MAX pages, reports itself
 *   incomplete and keeps the cursor, so every run lists the same newest events and never the older ones;
 * - each run applies, oldest first, only what its share of subrequests allows (3 per event, duplicates
 *   included) and the next run starts again BACKFILL_OVERLAP_S before the cursor: when that overlap alone
 *   holds more events than one run applies, every run re-applies the same oldest ones.
 * The chaos run's backfill reported `listed 5000, complete false, duplicates 1400` on every run.
 */
import type Stripe from "stripe";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Deps } from "../../../src/deps.ts";
import { ok } from "../../../src/ledger/result.ts";
import { applyStripeEvent } from "../../../src/providers/stripe/apply-event.ts";
import { createTickBudget, DEFAULT_TICK_LIMITS } from "../../../src/reconcile/limits.ts";
import { BACKFILL_SUBREQUEST_SHARE } from "../../../src/reconcile/reconcile.ts";
import {
  BACKFILL_PAGES_MAX,
  backfillStripe,
  STRIPE_EVENTS_PAGE,
} from "../../../src/reconcile/stripe-backfill.ts";

vi.mock("../../../src/providers/stripe/apply-event.ts", () => ({
  applyStripeEvent: vi.fn(async () => ({ status: "done", orderId: null, outcome: "noop" })),
}));

const T0_S = 1_796_400_000;
/** One more event than a complete listing of BACKFILL_PAGES_MAX pages can hold. */
const NEWER_EVENTS = BACKFILL_PAGES_MAX * STRIPE_EVENTS_PAGE;
/** Runs (five-minute ticks) the backfill gets to catch up; each applies what half a run's subrequests allow. */
const RUNS = 10;
const LOST = "evt_lost_refund_created";
const CHAOS_WINDOW_EVENTS = 5_000;

/**
 * Stripe's `events.list`: newest first, `created.gte`, `limit`; `starting_after` pages to older events,
 * `ending_before` to the page just newer than the cursor (Stripe's pagination contract).
 */
function fakeStripe(events: Stripe.Event[]): Stripe {
  const newestFirst = [...events].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  const list = async (params: Stripe.EventListParams) => {
    const since = (params.created as { gte: number } | undefined)?.gte ?? 0;
    const matching = newestFirst.filter((event) => event.created >= since);
    const limit = params.limit ?? 10;
    if (params.ending_before) {
      const newer = matching.slice(
        0,
        matching.findIndex((e) => e.id === params.ending_before),
      );
      const data = newer.slice(Math.max(0, newer.length - limit));
      return { object: "list", data, has_more: newer.length > limit, url: "/v1/events" };
    }
    const start = params.starting_after ? matching.findIndex((e) => e.id === params.starting_after) + 1 : 0;
    const data = matching.slice(start, start + limit);
    return { object: "list", data, has_more: start + data.length < matching.length, url: "/v1/events" };
  };
  return { events: { list } } as unknown as Stripe;
}

const event = (id: string, createdS: number, type: string): Stripe.Event =>
  ({ id, type, created: createdS, data: { object: { id: `re_${id}`, object: "refund" } } }) as Stripe.Event;

describe("Stripe backfill: more events since the cursor than one listing holds", () => {
  let cursor: unknown;
  const deps = {
    store: {
      getSyncCursor: async () => ok(cursor),
      setSyncCursor: async ({ value }: { value: unknown }) => {
        cursor = value;
        return ok(undefined);
      },
    },
  } as unknown as Deps;

  beforeEach(() => {
    cursor = { createdS: T0_S };
    vi.mocked(applyStripeEvent).mockClear();
  });

  /** Runs the backfill as the reconcile cron does, at most RUNS times or until `id` was applied. */
  async function runsUntilApplied(events: Stripe.Event[], id: string) {
    const stripe = fakeStripe(events);
    const applied = new Set<string>();
    for (let run = 0; run < RUNS && !applied.has(id); run += 1) {
      const share = DEFAULT_TICK_LIMITS.subrequestsMax * BACKFILL_SUBREQUEST_SHARE;
      const budget = createTickBudget({ ...DEFAULT_TICK_LIMITS, subrequestsMax: share }, Date.now);
      await backfillStripe({} as Env, deps, stripe, budget, (T0_S + 600) * 1000);
      for (const [, , e] of vi.mocked(applyStripeEvent).mock.calls) applied.add(e.id);
    }
    return `applied ${applied.has(id) ? "" : "NOT "}${id}: ${applied.size} of ${events.length} events, cursor ${JSON.stringify(cursor)}`;
  }

  const busyWindow = (length = NEWER_EVENTS): Stripe.Event[] =>
    Array.from({ length }, (_, i) =>
      event(`evt_${i}`, T0_S + 1 + Math.floor(i / 10), "checkout.session.completed"),
    );

  it("applies an event older than the newest BACKFILL_PAGES_MAX pages (a refund whose deliveries were all lost)", async () => {
    const events = [event(LOST, T0_S, "refund.created"), ...busyWindow()];
    expect(await runsUntilApplied(events, LOST)).toMatch(/^applied evt/);
  });

  it("applies the newest event of a window bigger than one run's share of subrequests", async () => {
    // The chaos run's window: 5,000 events, about 1,400 applied per run.
    const events = [
      ...busyWindow(CHAOS_WINDOW_EVENTS),
      event(LOST, T0_S + 1 + CHAOS_WINDOW_EVENTS / 10, "refund.created"),
    ];
    expect(await runsUntilApplied(events, LOST)).toMatch(/^applied evt/);
  });
});
