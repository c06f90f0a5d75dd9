/**
 * The runbook actions' view of the database (the "runbook actions" section of the baseline migration):
 * the sales switch and the inbox events an operator may replay. Rows stay as the SQL returns them.
 */
import { callRpc, type PayguardClient, type RpcResult } from "../db/rpc.ts";
import type { Row } from "./store.ts";

export interface SalesPause {
  /** `*` for every package, else a package id. */
  scope: string;
  paused_at: string;
  paused_by: string;
  reason: string;
}

export interface ReplayableQuery {
  provider?: string;
  status?: string;
  type?: string;
  from?: string;
  to?: string;
  limit: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createRunbookStore(client: PayguardClient) {
  const rpc = <T>(fn: string, args: Record<string, unknown>) => callRpc<T>(client, fn, args);
  return {
    salesPauses: (): RpcResult<SalesPause[]> => rpc("list_sales_pauses", {}),
    setSalesPause: (input: {
      scope: string;
      paused: boolean;
      actor: string;
      reason: string;
      nowMs: number;
    }): RpcResult<{ changed: boolean; paused: SalesPause[] }> =>
      rpc("set_sales_pause", {
        p_scope: input.scope,
        p_paused: input.paused,
        p_actor: input.actor,
        p_reason: input.reason,
        p_now: iso(input.nowMs),
      }),
    replayableEvents: (query: ReplayableQuery, stuckBeforeMs: number): RpcResult<Row[]> =>
      rpc("admin_replayable_events", {
        p_provider: query.provider ?? null,
        p_status: query.status ?? null,
        p_event_type: query.type ?? null,
        p_from: query.from ?? null,
        p_to: query.to ?? null,
        p_stuck_before: iso(stuckBeforeMs),
        p_limit: query.limit,
      }),
  };
}

export type RunbookStore = ReturnType<typeof createRunbookStore>;
