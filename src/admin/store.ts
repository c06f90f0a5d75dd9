/**
 * The admin read models and the attribution log, over the same `.rpc()` adapter as the ledger store
 * (the "admin console" section of the baseline migration in supabase/migrations). Rows go to the API
 * and the pages as the SQL returns them (snake_case), since operators read them as such.
 */
import { callRpc, type PayguardClient, type RpcResult } from "../db/rpc.ts";
import type { OutboxRow } from "../db/settle-json.ts";
import type { IncidentPageData, IncidentRow } from "./incident-rows.ts";

export type Row = Record<string, unknown>;

export interface OrderSearch {
  q?: string;
  user?: string;
  status?: string;
  provider?: string;
  from?: string;
  to?: string;
  /** `failed`: pending orders whose last provider check failed. */
  check?: string;
  limit: number;
  offset: number;
}

export interface AdminActionInput {
  actor: string;
  action: string;
  orderId: string | null;
  target: string | null;
  reason: string;
  outcome: string;
  detail: Record<string, unknown>;
  nowMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createAdminStore(client: PayguardClient) {
  const rpc = <T>(fn: string, args: Record<string, unknown>) => callRpc<T>(client, fn, args);
  return {
    overview: (sinceMs: number, nowMs: number, bucketSeconds: number): RpcResult<Row> =>
      rpc("admin_overview", { p_since: iso(sinceMs), p_now: iso(nowMs), p_bucket_seconds: bucketSeconds }),
    /** What needs a person now (the overview's band); inbox events received before `stuckBeforeMs` are stuck. */
    attention: (stuckBeforeMs: number): RpcResult<Row> =>
      rpc("admin_attention", { p_stuck_before: iso(stuckBeforeMs) }),
    /** The payments behind "paid, not credited", oldest first. */
    paidNotCredited: (limit: number): RpcResult<Row[]> => rpc("admin_paid_not_credited", { p_limit: limit }),
    searchOrders: (search: OrderSearch): RpcResult<{ total: number; orders: Row[] }> =>
      rpc("admin_search_orders", {
        p_query: search.q ?? null,
        p_user_id: search.user ?? null,
        p_status: search.status ?? null,
        p_provider: search.provider ?? null,
        p_from: search.from ?? null,
        p_to: search.to ?? null,
        p_limit: search.limit,
        p_offset: search.offset,
        p_check: search.check ?? null,
      }),
    orderDetail: (orderId: string): RpcResult<Row | null> =>
      rpc("admin_order_detail", { p_order_id: orderId }),
    incidents: (status: string | null, limit: number): RpcResult<Row[]> =>
      rpc("list_incidents", { p_status: status, p_limit: limit }),
    /** One incident by key with its orders and related open incidents (null: never seen). */
    incident: (key: string): RpcResult<IncidentPageData | null> => rpc("admin_incident", { p_key: key }),
    /** Worst first (severity, then the oldest open), each with its stored `orders`. */
    incidentList: (status: string | null, severity: string | null, limit: number): RpcResult<IncidentRow[]> =>
      rpc("admin_incident_list", { p_status: status, p_severity: severity, p_limit: limit }),
    jobRuns: (limit: number): RpcResult<Row[]> => rpc("list_job_runs", { p_limit: limit }),
    repairGrant: (orderId: string, nowMs: number): RpcResult<{ outcome: string }> =>
      rpc("repair_missing_grant", { p_order_id: orderId, p_now: iso(nowMs) }),
    repairBalance: (userId: string, nowMs: number): RpcResult<{ delta: number }> =>
      rpc("repair_balance", { p_user_id: userId, p_now: iso(nowMs) }),
    resolveReview: (
      orderId: string,
      resolution: string,
      note: string,
      nowMs: number,
    ): RpcResult<{ outcome: string; incidents?: OutboxRow[] | null }> =>
      rpc("resolve_review", {
        p_order_id: orderId,
        p_resolution: resolution,
        p_note: note,
        p_now: iso(nowMs),
      }),
    recordAction: (input: AdminActionInput): RpcResult<number> =>
      rpc("record_admin_action", {
        p_actor: input.actor,
        p_action: input.action,
        p_order_id: input.orderId,
        p_target: input.target,
        p_reason: input.reason,
        p_outcome: input.outcome,
        p_detail: input.detail,
        p_now: iso(input.nowMs),
      }),
  };
}

export type AdminStore = ReturnType<typeof createAdminStore>;
