/**
 * OrderGuard: one of ORDER_GUARD_SHARDS Durable Objects, each holding the guards of the orders whose names
 * hash to it (src/guard/guard-names.ts). Every path that may settle an order (webhook, reconcile, confirm,
 * admin) calls `settle` or `settleEvent` on that order's object, which runs the attempts on one guard name
 * one at a time; different orders in one object proceed side by side, each on its own queue.
 *
 * Why queues and not just the input gate: awaiting Supabase (a fetch) opens the input gate and lets the
 * next call in, so two settles could interleave. A promise chain per guard name keeps one order's settles
 * strictly sequential; its entry is dropped once the chain is idle, so the map holds only orders in flight.
 * A settle that waits longer than ORDER_GUARD_QUEUE_WAIT_MS_MAX behind another is answered as a
 * transient failure (the provider retries); the one it waited for still ends, because every database
 * call has its own timeout (src/db/rpc.ts).
 *
 * No answer cache: what a fact did to an order is always the database's word (a status changes, a fact
 * is held or in review). What the guard does remember is which provider events the database has durably
 * finished, noted only after the commit that finished them: an event's processing is final, so a
 * redelivery is answered `duplicate` here without a database call. A redelivery that arrives while its
 * original is in flight waits in the queue and is answered the same way once the original is finished.
 * The memory is bounded (src/guard/finished-events.ts) and lives as long as the object's instance:
 * writing it to the object's SQLite storage cost more worker CPU per new event than the database call it
 * saves (README "Benchmarks"); a forgotten event's redelivery costs one call, answered `duplicate` there.
 *
 * While a new shard layout deploys, an order's earlier settles may still run in the object of the old
 * layout: the database's row locks and unique keys (guard 3) are then the only guard for that moment.
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
import { createFinishedEvents } from "./finished-events.ts";
import { eventGuardName, guardName } from "./guard-names.ts";

/** Longest a settle waits for the ones queued before it; above the database call timeout. */
export const ORDER_GUARD_QUEUE_WAIT_MS_MAX = 15_000;

type Settled = Result<SettleResult, InfraError>;
type EventSettled = Result<EventSettlement, InfraError>;

export class OrderGuard extends DurableObject<Env> {
  /** The tail of each guard name's chain of settles, while it has one in flight. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly finishedEvents = createFinishedEvents();

  settle(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    return this.enqueue(guardName(fact), () => this.settleNow(fact, source, nowMs));
  }

  /** One provider event about an order: `duplicate` from memory when it is known finished. */
  settleEvent(event: ProviderEvent, nowMs: number): Promise<EventSettled> {
    return this.enqueue(eventGuardName(event), () => this.settleEventNow(event, nowMs));
  }

  private enqueue<T>(
    name: string,
    work: () => Promise<Result<T, InfraError>>,
  ): Promise<Result<T, InfraError>> {
    const before = this.queues.get(name) ?? Promise.resolve();
    const run = waitAtMost(before, ORDER_GUARD_QUEUE_WAIT_MS_MAX).then((started) =>
      started ? work() : queueTimeout<T>(),
    );
    // The next settle waits for this one AND the ones before it, even when this one gave up waiting.
    const tail = Promise.all([before, run]).then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }

  private async settleNow(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    const { store, alerts } = getDeps(this.env);
    return settleFact(fact, source, nowMs, { store, alerts });
  }

  private async settleEventNow(event: ProviderEvent, nowMs: number): Promise<EventSettled> {
    if (this.finishedEvents.has(event.provider, event.eventId)) return ok({ status: "duplicate" });
    const { store, alerts } = getDeps(this.env);
    const settled = await settleEvent(event, nowMs, { store, alerts });
    // Both answers mean the database committed the event's inbox row as finished.
    if (settled.ok && (settled.value.status === "done" || settled.value.status === "duplicate"))
      this.finishedEvents.add(event.provider, event.eventId);
    return settled;
  }
}

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
