/**
 * Guard 2 on its own: the OrderGuard object that holds an order (one of a fixed set of shards) runs one
 * settle at a time per order while other orders of the same object proceed beside it, and answers what a
 * fact did only as the database answers it (no cache of outcomes). The one thing it remembers is which
 * provider events the database has durably finished, so their redeliveries need no database call.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { shardIndex } from "../../src/guard/guard-names.ts";
import { type OrderGuard, waitAtMost } from "../../src/guard/order-guard.ts";
import { guardObject } from "../../src/guard/settle-order.ts";
import type { LedgerStore } from "../../src/ledger/ports.ts";
import type { PaymentFact, ProviderEvent } from "../../src/ledger/types.ts";
import { seedPackage, setDatabaseDown, sql } from "../support/worker/harness.ts";
import { createOrder, ledgerOf } from "../support/worker/stripe.ts";

beforeAll(seedPackage);

/** How long order A's settle waits for order B's to begin before it concludes B is stuck behind it. */
const SIDE_BY_SIDE_WAIT_MS = 5_000;
/** Orders created while looking for two that share a shard (64 shards: a pair is expected after ~10). */
const SAME_SHARD_SEARCH_MAX = 200;

/** Two new orders whose guards live in the same OrderGuard object. */
async function ordersInOneShard(user: string): Promise<[string, string]> {
  const byShard = new Map<number, string>();
  for (let i = 0; i < SAME_SHARD_SEARCH_MAX; i++) {
    const orderId = await createOrder(user);
    const other = byShard.get(shardIndex(orderId));
    if (other) return [other, orderId];
    byShard.set(shardIndex(orderId), orderId);
  }
  throw new Error(`no two of ${SAME_SHARD_SEARCH_MAX} orders share a shard`);
}

/** Wraps the ledger's applyPayment as the guard instance sees it; `before` runs ahead of each call. */
function watchApplyPayment(instance: OrderGuard, before: (orderId: string) => Promise<void>) {
  const store: LedgerStore = getDeps((instance as unknown as { env: Env }).env).store;
  const applyPayment = store.applyPayment;
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  store.applyPayment = async (input) => {
    const now = (inFlight.get(input.orderId) ?? 0) + 1;
    inFlight.set(input.orderId, now);
    maxInFlight.set(input.orderId, Math.max(maxInFlight.get(input.orderId) ?? 0, now));
    try {
      await before(input.orderId);
      return await applyPayment(input);
    } finally {
      inFlight.set(input.orderId, (inFlight.get(input.orderId) ?? 1) - 1);
    }
  };
  return { maxInFlight, restore: () => (store.applyPayment = applyPayment) };
}

const paidFact = (orderId: string): PaymentFact => ({
  kind: "paid",
  provider: "stripe",
  orderId,
  paymentRef: `pi_guard_${orderId}`,
  amountMinor: 1999,
  currency: "USD",
  paidAtMs: Date.now(),
});

describe("OrderGuard", () => {
  it("serialises concurrent settles: the ledger is never asked about one order twice at once", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const { outcomes, maxInFlight, queued } = await runInDurableObject(
      guardObject(env, orderId),
      async (instance: OrderGuard) => {
        const watch = watchApplyPayment(instance, async () => undefined);
        try {
          const results = await Promise.all(
            Array.from({ length: 20 }, () => instance.settle(paidFact(orderId), "webhook", Date.now())),
          );
          await new Promise((resolve) => setTimeout(resolve, 0));
          return {
            outcomes: results.map((r) => (r.ok ? r.value.outcome : "error")),
            maxInFlight: watch.maxInFlight.get(orderId),
            // Once its chain is idle an order leaves the object's queues.
            queued: (instance as unknown as { queues: Map<string, unknown> }).queues.size,
          };
        } finally {
          watch.restore();
        }
      },
    );
    expect(maxInFlight).toBe(1);
    expect(queued).toBe(0);
    expect(outcomes.filter((o) => o === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(19);
    const paidEvents = await sql(
      "select 1 from payguard.order_events where order_id = $1 and kind = 'paid'",
      [orderId],
    );
    expect(paidEvents).toHaveLength(1);
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("runs two orders of one shard side by side, each still one settle at a time", async () => {
    const user = crypto.randomUUID();
    const [first, second] = await ordersInOneShard(user);
    const { outcomes, maxInFlight, sideBySide } = await runInDurableObject(
      guardObject(env, first),
      async (instance: OrderGuard) => {
        let secondBegan: () => void = () => undefined;
        const secondBegins = new Promise<true>((resolve) => {
          secondBegan = () => resolve(true);
        });
        let sideBySide: boolean | null = null;
        const watch = watchApplyPayment(instance, async (orderId) => {
          if (orderId === second) return secondBegan();
          // The first order's first settle holds its queue until the second order's settle has begun:
          // an object that serialised across orders would keep the second waiting behind it.
          sideBySide ??= await Promise.race([
            secondBegins,
            new Promise<false>((resolve) => setTimeout(() => resolve(false), SIDE_BY_SIDE_WAIT_MS)),
          ]);
        });
        try {
          const settles = [first, second].flatMap((orderId) =>
            Array.from({ length: 10 }, () => instance.settle(paidFact(orderId), "webhook", Date.now())),
          );
          const results = await Promise.all(settles);
          return {
            outcomes: results.map((r) => (r.ok ? r.value.outcome : "error")),
            maxInFlight: [watch.maxInFlight.get(first), watch.maxInFlight.get(second)],
            sideBySide,
          };
        } finally {
          watch.restore();
        }
      },
    );
    expect(sideBySide).toBe(true);
    expect(maxInFlight).toEqual([1, 1]);
    expect(outcomes.filter((o) => o === "fulfilled")).toHaveLength(2);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(18);
    expect((await ledgerOf(user)).balance).toBe(200);
  });

  it("keeps no answers of its own: a repeat while the database is down is transient, then the database's word", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const stub = guardObject(env, orderId);
    expect(await stub.settle(paidFact(orderId), "webhook", Date.now())).toMatchObject({
      ok: true,
      value: { outcome: "fulfilled" },
    });
    await setDatabaseDown(true);
    try {
      expect(await stub.settle(paidFact(orderId), "reconcile", Date.now())).toMatchObject({
        ok: false,
        error: { kind: "transient" },
      });
    } finally {
      await setDatabaseDown(false);
    }
    await sql("select payguard.flag_order($1, 'operator check', now())", [orderId]);
    // The database now says review; a guard that remembered "fulfilled" would have said otherwise.
    expect(await stub.settle(paidFact(orderId), "reconcile", Date.now())).toMatchObject({
      ok: true,
      value: { outcome: "duplicate", status: "needs_review" },
    });
  });

  it("remembers an event as finished only after the database finished it", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const { orderId: _, ...draft } = paidFact(orderId);
    const event: ProviderEvent = {
      provider: "stripe",
      eventId: `evt_guard_${orderId}`,
      eventType: "checkout.session.completed",
      locator: { by: null, ref: null, claimedOrderId: orderId },
      facts: [{ ...draft, orderId: null }],
      source: "webhook",
    };
    const stub = guardObject(env, orderId);
    await setDatabaseDown(true);
    try {
      // Not finished (the database was not reached): never answered duplicate from memory.
      expect(await stub.settleEvent(event, Date.now())).toMatchObject({
        ok: false,
        error: { kind: "transient" },
      });
      expect(await stub.settleEvent(event, Date.now())).toMatchObject({
        ok: false,
        error: { kind: "transient" },
      });
    } finally {
      await setDatabaseDown(false);
    }
    expect(await stub.settleEvent(event, Date.now())).toMatchObject({
      ok: true,
      value: { status: "done", results: [{ outcome: "fulfilled" }] },
    });
    await setDatabaseDown(true);
    try {
      // Finished and committed: the redelivery is answered here, without the database.
      expect(await stub.settleEvent(event, Date.now())).toEqual({ ok: true, value: { status: "duplicate" } });
    } finally {
      await setDatabaseDown(false);
    }
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("stops waiting behind a settle that never ends (the caller answers 5xx), and waits for one that does", async () => {
    const hung = new Promise<never>(() => undefined);
    expect(await waitAtMost(hung, 10)).toBe(false);
    expect(await waitAtMost(Promise.reject(new Error("earlier settle failed")), 60_000)).toBe(true);
    expect(await waitAtMost(Promise.resolve(), 60_000)).toBe(true);
  });
});
