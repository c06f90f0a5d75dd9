/**
 * The one settle entry point: webhook, success page, cron and operator all send a fact to the OrderGuard
 * object that holds its guard (src/guard/guard-names.ts). A fact that names no order yet (a refund matched
 * only by a payment we have not seen) goes to the guard named after that payment; the database holds it
 * until the payment arrives. A Durable Object that throws (reset, overloaded, deployed mid-call) is
 * reported as a transient failure, so the caller answers 5xx and the fact is retried.
 */
import type { InfraError, Result } from "../ledger/result.ts";
import { err } from "../ledger/result.ts";
import type {
  EventSettlement,
  PaymentFact,
  ProviderEvent,
  SettleResult,
  SettleSource,
} from "../ledger/types.ts";
import { eventGuardName, guardName, shardObjectName } from "./guard-names.ts";

/**
 * The object holding a guard name: its shard. `ORDER_GUARD_LAYOUT=per_order` (one object per guard name,
 * the layout before shards) is set only by the webhook bench (`--guards per-order`) to measure the two
 * side by side; wrangler.toml does not declare it and a deployment never sets it.
 */
export function guardObject(env: Env, name: string) {
  const layout = (env as { ORDER_GUARD_LAYOUT?: string }).ORDER_GUARD_LAYOUT;
  const objectName = layout === "per_order" ? name : shardObjectName(name);
  return env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(objectName));
}

export async function settleOrder(
  env: Env,
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
): Promise<Result<SettleResult, InfraError>> {
  try {
    return await guardObject(env, guardName(fact)).settle(fact, source, nowMs);
  } catch (error) {
    return err({ kind: "transient", code: "ORDER_GUARD", message: (error as Error).message });
  }
}

export async function settleEventInGuard(
  env: Env,
  event: ProviderEvent,
  nowMs: number,
): Promise<Result<EventSettlement, InfraError>> {
  try {
    return await guardObject(env, eventGuardName(event)).settleEvent(event, nowMs);
  } catch (error) {
    return err({ kind: "transient", code: "ORDER_GUARD", message: (error as Error).message });
  }
}
