/**
 * The success page's provider-query throttle, kept in the database (`payguard.claim_confirm_check`) so
 * it holds across isolates and concurrent polls: at most one provider query per order per interval.
 */
import type { InfraError, Result } from "../ledger/result.ts";
import { callRpc, type PayguardClient } from "./rpc.ts";

export interface ConfirmChecks {
  /** ok(true): query the provider now; ok(false): one was made less than `minIntervalMs` ago. */
  claim(orderId: string, nowMs: number, minIntervalMs: number): Promise<Result<boolean, InfraError>>;
}

export function createConfirmChecks(client: PayguardClient): ConfirmChecks {
  return {
    claim: (orderId, nowMs, minIntervalMs) =>
      callRpc<boolean>(client, "claim_confirm_check", {
        p_order_id: orderId,
        p_now: new Date(nowMs).toISOString(),
        p_min_interval_ms: minIntervalMs,
      }),
  };
}
