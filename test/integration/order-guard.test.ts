/**
 * Guard 2 on its own: the OrderGuard Durable Object runs one settle at a time per order, and answers
 * what a fact did only as the database answers it (no cache of outcomes). The one thing it remembers is
 * which provider events the database has durably finished, so their redeliveries need no database call.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { waitAtMost } from "../../src/guard/order-guard.ts";
import type { LedgerStore } from "../../src/ledger/ports.ts";
import type { PaymentFact, ProviderEvent } from "../../src/ledger/types.ts";
import { seedPackage, setDatabaseDown, sql } from "../support/worker/harness.ts";
import { createOrder, ledgerOf } from "../support/worker/stripe.ts";

beforeAll(seedPackage);

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
    const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(orderId));
    const { outcomes, maxInFlight } = await runInDurableObject(stub, async (instance) => {
      // Count how many ledger calls this guard has in flight at once, through the deps it uses.
      const store: LedgerStore = getDeps((instance as unknown as { env: Env }).env).store;
      const applyPayment = store.applyPayment;
      let inFlight = 0;
      let max = 0;
      store.applyPayment = async (input) => {
        inFlight += 1;
        max = Math.max(max, inFlight);
        try {
          return await applyPayment(input);
        } finally {
          inFlight -= 1;
        }
      };
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => instance.settle(paidFact(orderId), "webhook", Date.now())),
        );
        return { outcomes: results.map((r) => (r.ok ? r.value.outcome : "error")), maxInFlight: max };
      } finally {
        store.applyPayment = applyPayment;
      }
    });
    expect(maxInFlight).toBe(1);
    expect(outcomes.filter((o) => o === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(19);
    const paidEvents = await sql(
      "select 1 from payguard.order_events where order_id = $1 and kind = 'paid'",
      [orderId],
    );
    expect(paidEvents).toHaveLength(1);
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("keeps no answers of its own: a repeat while the database is down is transient, then the database's word", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(orderId));
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
    const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(orderId));
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
