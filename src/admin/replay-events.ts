/**
 * Batch replay of inbox events that failed or got stuck (recorded, never finished), chosen by provider,
 * status, type and receipt window. payguard keeps no payloads, so each event is brought back from the
 * provider: a Stripe event is fetched by id and applied like a delivery (applyStripeEvent: the inbox
 * dedups); a WeChat Pay notification cannot be fetched again, so its order is queried by out_trade_no
 * and settled (a lost order rebuilt from the transaction's attach), then the inbox row is finished.
 * A dry run changes nothing: Stripe events are listed (`would_refetch`), WeChat orders are queried and
 * the answer says what would change (`would_rebuild`, `would_credit`, …). Bounded, recorded once; every
 * provider call takes its token from the deployment's provider budget.
 */
import { ONE_AT_A_TIME, openProviderBudget, type ProviderBudget } from "../budget/budget.ts";
import type { Provider } from "../ledger/types.ts";
import { applyStripeEvent } from "../providers/stripe/apply-event.ts";
import { type ActionContext, actionFailure, perform } from "./actions.ts";
import { countOutcomes, repairFromRefsQuietly } from "./repair-refs.ts";
import type { Row } from "./store.ts";
import { stripeFor } from "./stripe.ts";

/** Events one replay call may take. */
export const REPLAY_EVENTS_MAX = 100;
/** An event still `received` this long after it arrived is stuck: its handler died half-way. */
export const INBOX_STUCK_AFTER_MS = 10 * 60_000;

export interface ReplayFilter {
  provider?: Provider;
  status?: "failed" | "stuck" | "received";
  type?: string;
  from?: string;
  to?: string;
  limit: number;
}

export interface ReplayReport {
  provider: string;
  eventId: string;
  eventType: string;
  orderId: string | null;
  outcome: string;
  detail?: string;
}

const WECHAT_TRANSACTION_EVENT = "TRANSACTION.SUCCESS";

/** How an event can be brought back: Stripe by id; a WeChat payment notification through its order. */
function route(row: Row): "refetch" | "query_order" | "not_refetchable" | "no_order" {
  if (row.provider === "stripe") return "refetch";
  if (row.event_type !== WECHAT_TRANSACTION_EVENT) return "not_refetchable";
  return row.order_id ? "query_order" : "no_order";
}

async function replayStripe(ctx: ActionContext, row: Row, providers: ProviderBudget) {
  const stripe = stripeFor(ctx.deps, providers);
  if (!stripe) return { outcome: "not_configured" };
  const fetched = await stripe.retrieveEvent(String(row.event_id));
  if (!fetched.ok) return { outcome: fetched.missing ? "not_found" : "failed", detail: fetched.message };
  const applied = await applyStripeEvent(ctx.env, ctx.deps, fetched.event, "admin", ctx.nowMs);
  if (applied.status === "failed") return { outcome: "failed", detail: actionFailure(applied.error).detail };
  return { outcome: applied.status === "done" ? applied.outcome : "duplicate" };
}

/**
 * A lost WeChat notification: what it said is what a query of its order says now. Dry, the query runs
 * and says what would change; otherwise the order is settled and the inbox row finished.
 */
async function replayWechat(ctx: ActionContext, row: Row, providers: ProviderBudget, dryRun: boolean) {
  const how = route(row);
  if (how !== "query_order") return { outcome: how };
  const [repaired] = await repairFromRefsQuietly(ctx, [String(row.order_id)], {
    providers,
    dryRun,
    asKind: "wechat_out_trade_no",
  });
  if (!repaired) return { outcome: "failed" };
  if (!dryRun && (repaired.changed || repaired.outcome === "already_fulfilled")) {
    const finished = await ctx.deps.store.finishEvent({
      provider: "wechatpay",
      eventId: String(row.event_id),
      status: "processed",
      error: `replayed by ${ctx.actor}: ${repaired.outcome}`,
      nowMs: ctx.nowMs,
    });
    if (!finished.ok) return { outcome: "failed", detail: finished.error.message };
  }
  return { outcome: repaired.outcome, detail: repaired.detail };
}

async function replayOne(ctx: ActionContext, row: Row, providers: ProviderBudget, dryRun: boolean) {
  if (row.provider === "wechatpay") return replayWechat(ctx, row, providers, dryRun);
  return dryRun ? { outcome: "would_refetch" } : replayStripe(ctx, row, providers);
}

export type ReplayBatch = { dryRun: boolean; summary: Record<string, number>; results: ReplayReport[] };

export async function replayInboxEvents(
  ctx: ActionContext,
  filter: ReplayFilter,
  dryRun: boolean,
): Promise<{ ok: true; value: ReplayBatch } | { ok: false; detail: string }> {
  const listed = await ctx.deps.runbook.replayableEvents(filter, ctx.nowMs - INBOX_STUCK_AFTER_MS);
  if (!listed.ok) return { ok: false, detail: listed.error.message };
  const rows = listed.value.slice(0, Math.min(filter.limit, REPLAY_EVENTS_MAX));
  const providers = openProviderBudget(ctx.deps, ONE_AT_A_TIME);
  const results: ReplayReport[] = [];
  const recorded = await perform(
    ctx,
    { action: dryRun ? "replay_events_dry_run" : "replay_events", target: `${rows.length} events` },
    async () => {
      for (const row of rows) {
        const replayed = await replayOne(ctx, row, providers, dryRun);
        results.push({
          provider: String(row.provider),
          eventId: String(row.event_id),
          eventType: String(row.event_type),
          orderId: row.order_id ? String(row.order_id) : null,
          ...replayed,
        });
      }
      return {
        ok: true,
        outcome: dryRun ? "dry_run" : "replayed",
        detail: { filter, summary: countOutcomes(results), results },
      };
    },
  );
  if (!recorded.ok) return { ok: false, detail: recorded.error.detail };
  return { ok: true, value: { dryRun, summary: countOutcomes(results), results } };
}
