/**
 * OrderGuard: one Durable Object per order (`idFromName(orderId)`). Every path that may settle an order
 * (webhook, reconcile, confirm, admin) calls `settle` or `settleEvent` here, so attempts on one order run
 * one at a time.
 *
 * Why a queue and not just the input gate: awaiting Supabase (a fetch) opens the input gate and lets the
 * next call in, so two settles could interleave. The promise chain keeps them strictly sequential.
 * A settle that waits longer than ORDER_GUARD_QUEUE_WAIT_MS_MAX behind another is answered as a
 * transient failure (the provider retries); the one it waited for still ends, because every database
 * call has its own timeout (src/db/rpc.ts).
 *
 * No answer cache: what a fact did to an order is always the database's word (a status changes, a fact
 * is held or in review). What the guard does remember is which provider events the database has durably
 * finished, noted only after the commit that finished them: an event's processing is final, so a
 * redelivery is answered `duplicate` here without a database call. A redelivery that arrives while its
 * original is in flight waits in the queue and is answered the same way once the original is finished.
 * The memory lives as long as the guard's instance: writing it to the guard's SQLite storage cost more
 * worker CPU per new event than the database call it saves (README "Benchmarks"); after an eviction a
 * redelivery costs one call, and the database answers it `duplicate`.
 */
import { DurableObject } from "cloudflare:workers";
import { getDeps } from "../deps.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err, ok } from "../ledger/result.ts";
import { settleEvent, settleFact } from "../ledger/settle.ts";
import type {
  EventSettlement,
  PaymentFact,
  ProviderEvent,
  SettleResult,
  SettleSource,
} from "../ledger/types.ts";

/** Longest a settle waits for the ones queued before it; above the database call timeout. */
export const ORDER_GUARD_QUEUE_WAIT_MS_MAX = 15_000;

type Settled = Result<SettleResult, InfraError>;
type EventSettled = Result<EventSettlement, InfraError>;

export class OrderGuard extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly finishedEvents = new Set<string>();

  settle(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    return this.enqueue(() => this.settleNow(fact, source, nowMs));
  }

  /** One provider event about this order: `duplicate` from memory when it is known finished. */
  settleEvent(event: ProviderEvent, nowMs: number): Promise<EventSettled> {
    return this.enqueue(() => this.settleEventNow(event, nowMs));
  }

  private enqueue<T>(work: () => Promise<Result<T, InfraError>>): Promise<Result<T, InfraError>> {
    const before = this.queue;
    const run = waitAtMost(before, ORDER_GUARD_QUEUE_WAIT_MS_MAX).then((started) =>
      started ? work() : queueTimeout<T>(),
    );
    // The next settle waits for this one AND the ones before it, even when this one gave up waiting.
    this.queue = Promise.all([before, run]).catch(() => undefined);
    return run;
  }

  private async settleNow(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    const { store, alerts } = getDeps(this.env);
    return settleFact(fact, source, nowMs, { store, alerts });
  }

  private async settleEventNow(event: ProviderEvent, nowMs: number): Promise<EventSettled> {
    if (this.finished(event)) return ok({ status: "duplicate" });
    const { store, alerts } = getDeps(this.env);
    const settled = await settleEvent(event, nowMs, { store, alerts });
    // Both answers mean the database committed the event's inbox row as finished.
    if (settled.ok && (settled.value.status === "done" || settled.value.status === "duplicate"))
      this.finishedEvents.add(finishedKey(event));
    return settled;
  }

  private finished(event: ProviderEvent): boolean {
    return this.finishedEvents.has(finishedKey(event));
  }
}

const finishedKey = (event: ProviderEvent): string => `finished:${event.provider}:${event.eventId}`;

/** Resolves true once `previous` has settled, or false after `limitMs`. */
export function waitAtMost(previous: Promise<unknown>, limitMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), limitMs);
  });
  const done = previous.then(
    () => true,
    () => true,
  );
  return Promise.race([done, timedOut]).finally(() => clearTimeout(timer));
}

const queueTimeout = <T>(): Result<T, InfraError> =>
  err({
    kind: "transient",
    code: "ORDER_GUARD_QUEUE_TIMEOUT",
    message: `waited over ${ORDER_GUARD_QUEUE_WAIT_MS_MAX} ms behind earlier settles of this order`,
  });
