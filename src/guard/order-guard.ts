/**
 * OrderGuard: one Durable Object per order (`idFromName(orderId)`). Every path that may settle an order
 * (webhook, reconcile, confirm, admin) calls `settle` here, so attempts on one order run one at a time.
 *
 * Why a queue and not just the input gate: awaiting Supabase (a fetch) opens the input gate and lets the
 * next call in, so two settles could interleave. The promise chain keeps them strictly sequential.
 * A settle that waits longer than ORDER_GUARD_QUEUE_WAIT_MS_MAX behind another is answered as a
 * transient failure (the provider retries); the one it waited for still ends, because every database
 * call has its own timeout (src/db/rpc.ts).
 *
 * No cache: the guard used to remember settled facts and answer repeats without the database, but a
 * remembered answer could differ from the database's (a status changed since, a fact held or in
 * review), so every fact goes to the database, which is idempotent and the final word.
 */
import { DurableObject } from "cloudflare:workers";
import { getDeps } from "../deps.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err } from "../ledger/result.ts";
import { settleFact } from "../ledger/settle.ts";
import type { PaymentFact, SettleResult, SettleSource } from "../ledger/types.ts";

/** Longest a settle waits for the ones queued before it; above the database call timeout. */
export const ORDER_GUARD_QUEUE_WAIT_MS_MAX = 15_000;

type Settled = Result<SettleResult, InfraError>;

export class OrderGuard extends DurableObject<Env> {
  private queue: Promise<unknown> = Promise.resolve();

  settle(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    const before = this.queue;
    const run = waitAtMost(before, ORDER_GUARD_QUEUE_WAIT_MS_MAX).then((started) =>
      started ? this.settleNow(fact, source, nowMs) : queueTimeout(),
    );
    // The next settle waits for this one AND the ones before it, even when this one gave up waiting.
    this.queue = Promise.all([before, run]).catch(() => undefined);
    return run;
  }

  private async settleNow(fact: PaymentFact, source: SettleSource, nowMs: number): Promise<Settled> {
    const { store, alerts } = getDeps(this.env);
    return settleFact(fact, source, nowMs, { store, alerts });
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

const queueTimeout = (): Settled =>
  err({
    kind: "transient",
    code: "ORDER_GUARD_QUEUE_TIMEOUT",
    message: `waited over ${ORDER_GUARD_QUEUE_WAIT_MS_MAX} ms behind earlier settles of this order`,
  });
