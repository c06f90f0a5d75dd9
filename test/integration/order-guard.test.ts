/**
 * Guard 2 on its own: the OrderGuard Durable Object runs one settle at a time per order and answers a
 * fact it already settled from its own storage, without the database.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { PaymentFact } from "../../src/ledger/types.ts";
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
  it("serialises concurrent settles: one reaches the ledger, the rest are answered as duplicates", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(orderId));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => stub.settle(paidFact(orderId), "webhook", Date.now())),
    );
    const outcomes = results.map((r) => (r.ok ? r.value.outcome : "error"));
    expect(outcomes.filter((o) => o === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(19);
    // Serialised, the 19 followers never reached the database: only one settle is on the timeline.
    const paidEvents = await sql(
      "select 1 from payguard.order_events where order_id = $1 and kind = 'paid'",
      [orderId],
    );
    expect(paidEvents).toHaveLength(1);
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("answers a remembered fact while the database is down, and remembers it in SQLite", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const stub = env.ORDER_GUARD.get(env.ORDER_GUARD.idFromName(orderId));
    expect(await stub.settle(paidFact(orderId), "webhook", Date.now())).toMatchObject({
      ok: true,
      value: { outcome: "fulfilled" },
    });
    await setDatabaseDown(true);
    try {
      expect(await stub.settle(paidFact(orderId), "reconcile", Date.now())).toMatchObject({
        ok: true,
        value: { outcome: "duplicate", status: "fulfilled" },
      });
      const other = { ...paidFact(orderId), paymentRef: "pi_other" };
      expect(await stub.settle(other, "webhook", Date.now())).toMatchObject({
        ok: false,
        error: { kind: "transient" },
      });
    } finally {
      await setDatabaseDown(false);
    }
    const remembered = await runInDurableObject(stub, async (_instance, state) =>
      state.storage.sql.exec<{ fact_key: string }>("select fact_key from settled").toArray(),
    );
    expect(remembered).toEqual([{ fact_key: `paid:stripe:pi_guard_${orderId}` }]);
  });
});
