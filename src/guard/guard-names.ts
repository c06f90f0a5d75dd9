/**
 * Which guard serialises what, and which OrderGuard object holds that guard. A guard name is what must
 * never run two settles at once: an order's id, else the payment or provider object a fact or event is
 * about. Every name lives on one of ORDER_GUARD_SHARDS objects, chosen by a stable hash of the name, and
 * the object serialises per name (src/guard/order-guard.ts). Pure: no I/O, no `cloudflare:*`.
 *
 * Why shards and not one object per order: creating a Durable Object for every new order was most of the
 * worker's CPU per new event (README "Benchmarks"); a fixed set of objects is created once and stays warm.
 *
 * The mapping must not move while settles are in flight. Changing ORDER_GUARD_SHARDS or shardIndex (or
 * the first deploy after one object per order) sends a name to another object than the one still finishing
 * its earlier settles, so for a moment two objects can serialise the same order. Guard 3 covers that
 * moment: `apply_payment` / `settle_event` lock the order and inbox rows and the ledger's unique keys
 * credit once. What moves is only the memory of finished events: a redelivery costs one database call,
 * answered `duplicate` there. test/unit/guard/guard-names.test.ts pins the mapping so a change is deliberate.
 */
import type { PaymentFact, ProviderEvent } from "../ledger/types.ts";

/**
 * How many OrderGuard objects share the deployment's orders. 64: measured against 256 in the webhook
 * bench, the same worker CPU per event once every shard exists (fewer objects to start); one object
 * takes about 1,000 requests/s and a settle holds it for well under a millisecond of CPU (its database
 * call is awaited, not run), so 64 objects are far above any merchant's webhook rate.
 */
export const ORDER_GUARD_SHARDS = 64;

/** Which guard serialises a fact: its order's, else its payment's (the database holds it until then). */
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

/**
 * Which guard serialises a provider event: its subscription's for a subscription fact, else the order it
 * claims, else the provider object it is about (so every redelivery of one event meets the same guard and
 * its memory of finished events).
 */
export function eventGuardName(event: ProviderEvent): string {
  const { locator } = event;
  const [fact] = event.facts;
  // One guard per subscription: its invoices and state reports settle one after another.
  if (fact && "subscriptionRef" in fact) return `subscription:${event.provider}:${fact.subscriptionRef}`;
  if (locator.claimedOrderId) return locator.claimedOrderId;
  if (fact?.orderId) return fact.orderId;
  if (locator.by && locator.ref) return `${locator.by}:${event.provider}:${locator.ref}`;
  return `event:${event.provider}:${event.eventId}`;
}

/** FNV-1a (32 bit) over the name's UTF-16 code units: the same shard for a name in every runtime, forever. */
export function shardIndex(name: string, shards: number = ORDER_GUARD_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** The Durable Object name (`idFromName`) holding a guard name; the shard count is part of it. */
export function shardObjectName(name: string): string {
  return `shard:${ORDER_GUARD_SHARDS}:${shardIndex(name)}`;
}
