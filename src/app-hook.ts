/**
 * The app hook seen from the worker. When the app's `payguard_app.on_settled` raises, the database rolls
 * the settlement back with SQLSTATE P0H01 (PostgREST: HTTP 500), so the store reports a transient failure
 * and the fact is retried like any other. This opens one incident per order saying why, because a hook
 * that keeps failing blocks that order's credits until the app is fixed.
 */
import { getDeps } from "./deps.ts";
import type { InfraError } from "./ledger/result.ts";
import type { PaymentFact } from "./ledger/types.ts";
import { log } from "./log.ts";

/** Raised by payguard._notify_app_settled (supabase/migrations/20261122002600_app_hook.sql). */
export const APP_HOOK_FAILED_SQLSTATE = "P0H01";

export const isAppHookFailure = (error: InfraError): boolean => error.code === APP_HOOK_FAILED_SQLSTATE;

/** Best effort: the fact is retried either way, and the next failure tries the incident again. */
export async function reportAppHookFailure(
  env: Env,
  fact: PaymentFact,
  error: InfraError,
  nowMs: number,
): Promise<void> {
  const raised = await getDeps(env).alerts.raise(
    {
      key: `app_hook_failed:${fact.orderId}`,
      kind: "app_hook_failed",
      severity: "critical",
      summary: `Order ${fact.orderId}: the app hook payguard_app.on_settled failed; settlement rolled back, retrying`,
      detail: { order_id: fact.orderId, provider: fact.provider, fact: fact.kind, error: error.message },
    },
    nowMs,
  );
  if (!raised.ok)
    log("error", "app_hook_incident_failed", { order_id: fact.orderId, code: raised.error.code });
}
