/**
 * Pure decisions of the reconcile run: what to do with a due order, and what a provider's answer means
 * for it. No I/O and no clock: `nowMs` is passed in.
 */
import type { Order, PaymentFact } from "../ledger/types.ts";

/** Before expiry: ask. At expiry: close at the provider first, ask once more, then expire here. */
export type OrderStep = "query" | "close_then_query";

/**
 * WeChat USERPAYING: the payer is entering a password or confirming right now. The answer comes within
 * seconds, so the order is due again this soon (the next tick picks it up) instead of on the backoff.
 */
export const PAYER_CONFIRMING_RECHECK_S = 20;
const PAYER_CONFIRMING_STATES = new Set(["USERPAYING"]);

export type Decision =
  | { kind: "settle"; fact: PaymentFact }
  /** Still unpaid and not expired: checked again after `delaySeconds`, else on the backoff schedule. */
  | { kind: "recheck"; delaySeconds?: number };

export function stepFor(order: Pick<Order, "expiresAtMs">, nowMs: number): OrderStep {
  return order.expiresAtMs <= nowMs ? "close_then_query" : "query";
}

/**
 * Subrequests one order costs at most: provider calls, the `note_check` RPC, and the settle (Durable
 * Object call and its Supabase RPC); an unpaid answer costs only its `record_check` RPC instead.
 */
export function subrequestsFor(step: OrderStep): number {
  return step === "close_then_query" ? 5 : 4;
}

/**
 * How many more orders a run can check before its wall time ends, at the pace it has kept so far (no
 * bound before it has checked any). A run leases no more than this: an order leased and not checked
 * waits out its lease, and at a large backlog it then queues behind the re-checks of unpaid orders
 * (bench:reconcile at 100,000 due orders: the last 68 paid orders waited four more ticks so).
 */
export function checkableInTimeLeft(checked: number, elapsedMs: number, wallLeftMs: number): number {
  if (checked === 0 || elapsedMs <= 0) return Number.POSITIVE_INFINITY;
  return Math.floor((checked / elapsedMs) * wallLeftMs);
}

/**
 * A paid answer after a close means the payment landed before the close took effect: it is settled,
 * never expired. An unpaid answer after a close is final: the provider will not take the payment now.
 */
export function decide(fact: PaymentFact, step: OrderStep): Decision {
  if (fact.kind !== "pending") return { kind: "settle", fact };
  if (step === "close_then_query")
    return { kind: "settle", fact: { kind: "expired", provider: fact.provider, orderId: fact.orderId } };
  if (fact.providerState && PAYER_CONFIRMING_STATES.has(fact.providerState))
    return { kind: "recheck", delaySeconds: PAYER_CONFIRMING_RECHECK_S };
  return { kind: "recheck" };
}

/** Splits `items` into groups of `size`, keeping their order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/** Runs `work` over `items` with at most `concurrency` at a time; stops starting new ones once it answers false. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<boolean>,
): Promise<void> {
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && next < items.length) {
      const item = items[next] as T;
      next += 1;
      if (!(await work(item))) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}
