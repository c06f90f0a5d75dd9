/**
 * The operations jobs' database calls (the "doctor", "threshold stats" and "weekly report" sections of
 * the baseline migration): the doctor's introspection, the threshold counts and the weekly report's
 * figures and send record.
 */
import { callRpc, type PayguardClient, type RpcResult } from "../db/rpc.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export interface DoctorFacts {
  migrations: { table: string | null; latest: string | null; expected_applied: boolean };
  functions: Array<{
    name: string;
    signature: string;
    internal: boolean;
    service_role: boolean;
    public: boolean;
    anon: boolean;
    authenticated: boolean;
  }>;
  /** `grants`: the privileges PUBLIC, anon and authenticated hold on the table or sequence. */
  tables: Array<{ name: string; rls: boolean; grants: RoleGrants }>;
  sequences: Array<{ name: string; grants: RoleGrants }>;
  app_hook: { defined: boolean; callable: boolean };
}

export type RoleGrants = Record<"public" | "anon" | "authenticated", string[]>;

export interface ThresholdStats {
  callbacks: Record<string, { deliveries: number; failed: number }>;
  out_of_sync: { count: number; oldest_lag_s: number };
  payments: { created: number; paid: number };
}

export type ReportFigures = Record<string, unknown>;

export function createOpsStore(client: PayguardClient) {
  const rpc = <T>(fn: string, args: Record<string, unknown>) => callRpc<T>(client, fn, args);
  return {
    doctor: (expectedMigration: string): RpcResult<DoctorFacts> =>
      rpc("doctor", { p_expected_migration: expectedMigration }),
    thresholdStats: (sinceMs: number, nowMs: number): RpcResult<ThresholdStats> =>
      rpc("threshold_stats", { p_since: iso(sinceMs), p_now: iso(nowMs) }),
    weeklyReport: (fromMs: number, toMs: number): RpcResult<ReportFigures> =>
      rpc("weekly_report", { p_from: iso(fromMs), p_to: iso(toMs) }),
    claimWeeklyReport: (weekStart: string, timeZone: string, figures: ReportFigures, nowMs: number) =>
      callRpc<boolean>(client, "claim_weekly_report", {
        p_week_start: weekStart,
        p_time_zone: timeZone,
        p_figures: figures,
        p_now: iso(nowMs),
      }),
    releaseWeeklyReport: (weekStart: string): RpcResult<null> =>
      rpc("release_weekly_report", { p_week_start: weekStart }),
  };
}

export type OpsStore = ReturnType<typeof createOpsStore>;
