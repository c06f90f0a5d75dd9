/**
 * The one settle entry point: webhook, success page, cron and operator all send a fact to its order's
 * OrderGuard here. A Durable Object that throws (reset, overloaded, deployed
 * mid-call) is reported as a transient failure, so the caller answers 5xx and the fact is retried.
 */
import { isAppHookFailure, reportAppHookFailure } from "../app-hook.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err } from "../ledger/result.ts";
import type { PaymentFact, SettleResult, SettleSource } from "../ledger/types.ts";

export async function settleOrder(
  env: Env,
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
): Promise<Result<SettleResult, InfraError>> {
  const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(fact.orderId));
  try {
    const result = await stub.settle(fact, source, nowMs);
    if (!result.ok && isAppHookFailure(result.error))
      await reportAppHookFailure(env, fact, result.error, nowMs);
    return result;
  } catch (error) {
    return err({ kind: "transient", code: "ORDER_GUARD", message: (error as Error).message });
  }
}
