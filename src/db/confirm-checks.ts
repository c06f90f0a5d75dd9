/**
 * The success page's provider-query throttles, kept in the database (`payguard.claim_confirm_check`) so
 * they hold across isolates and concurrent polls: at most one provider query per order per interval, and
 * at most a configured number per user per minute (src/checkout/limits.ts).
 */
import type { InfraError, Result } from "../ledger/result.ts";
import { ok } from "../ledger/result.ts";
import { callRpc, type PayguardClient } from "./rpc.ts";

/**
 * `claimed`: query the provider now. `throttled`: this order was queried less than the interval ago.
 * `rate_limited`: the order's owner used up this minute's queries; the next window opens in `retryAfterS`.
 */
export type ConfirmClaim =
  | { outcome: "claimed" }
  | { outcome: "throttled" }
  | { outcome: "rate_limited"; retryAfterS: number };

export interface ConfirmChecks {
  claim(input: {
    orderId: string;
    nowMs: number;
    minIntervalMs: number;
    userPerMinuteMax: number;
  }): Promise<Result<ConfirmClaim, InfraError>>;
}

interface ClaimRow {
  outcome: ConfirmClaim["outcome"];
  retry_after_seconds?: number;
}

export function createConfirmChecks(client: PayguardClient): ConfirmChecks {
  return {
    async claim(input) {
      const result = await callRpc<ClaimRow>(client, "claim_confirm_check", {
        p_order_id: input.orderId,
        p_now: new Date(input.nowMs).toISOString(),
        p_min_interval_ms: input.minIntervalMs,
        p_user_per_minute_max: input.userPerMinuteMax,
      });
      if (!result.ok) return result;
      const row = result.value;
      return ok(
        row.outcome === "rate_limited"
          ? { outcome: "rate_limited", retryAfterS: row.retry_after_seconds ?? 60 }
          : { outcome: row.outcome },
      );
    },
  };
}
