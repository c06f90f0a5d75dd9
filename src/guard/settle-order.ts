/**
 * The one settle entry point: webhook, success page, cron and operator all send a fact to its order's
 * OrderGuard here. A fact that names no order yet (a refund matched only by a payment we have not seen)
 * goes to the guard named after that payment; the database holds it until the payment arrives.
 * A Durable Object that throws (reset, overloaded, deployed mid-call) is reported as a transient
 * failure, so the caller answers 5xx and the fact is retried.
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

/** Which OrderGuard serialises a fact: its order's, else its payment's. */
export function guardName(fact: PaymentFact): string {
  if (fact.orderId) return fact.orderId;
  const ref =
    fact.kind === "refunded" || fact.kind === "refund_failed"
      ? (fact.paymentRef ?? fact.refundRef)
      : fact.kind === "disputed"
        ? fact.paymentRef
        : "";
  return `payment:${fact.provider}:${ref}`;
}

export async function settleOrder(
  env: Env,
  fact: PaymentFact,
  source: SettleSource,
  nowMs: number,
): Promise<Result<SettleResult, InfraError>> {
  const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(guardName(fact)));
  try {
    return await stub.settle(fact, source, nowMs);
  } catch (error) {
    return err({ kind: "transient", code: "ORDER_GUARD", message: (error as Error).message });
  }
}

/**
 * Which OrderGuard serialises a provider event: the order it claims, else the provider object it is about
 * (so every redelivery of one event meets the same guard and its memory of finished events).
 */
export function eventGuardName(event: ProviderEvent): string {
  const { locator } = event;
  if (locator.claimedOrderId) return locator.claimedOrderId;
  const [fact] = event.facts;
  if (fact?.orderId) return fact.orderId;
  if (locator.by && locator.ref) return `${locator.by}:${event.provider}:${locator.ref}`;
  return `event:${event.provider}:${event.eventId}`;
}

export async function settleEventInGuard(
  env: Env,
  event: ProviderEvent,
  nowMs: number,
): Promise<Result<EventSettlement, InfraError>> {
  const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(eventGuardName(event)));
  try {
    return await stub.settleEvent(event, nowMs);
  } catch (error) {
    return err({ kind: "transient", code: "ORDER_GUARD", message: (error as Error).message });
  }
}
