/**
 * Which OrderGuard object serialises what: every path about one order meets the same guard name, every
 * name always reaches the same shard, and the mapping is pinned, since moving a name to another object
 * while its settles are in flight leaves only the database to serialise that order (src/guard/guard-names.ts).
 */
import { describe, expect, it } from "vitest";
import {
  eventGuardName,
  guardName,
  ORDER_GUARD_SHARDS,
  shardIndex,
  shardObjectName,
} from "../../../src/guard/guard-names.ts";
import type { PaymentFact, ProviderEvent } from "../../../src/ledger/types.ts";

const paid: PaymentFact = {
  kind: "paid",
  provider: "stripe",
  orderId: "ord_41fa978ed5aa4f5d8e5b1151",
  paymentRef: "pi_1",
  amountMinor: 1999,
  currency: "USD",
  paidAtMs: 0,
};

const event = (locator: ProviderEvent["locator"], facts: ProviderEvent["facts"] = []): ProviderEvent => ({
  provider: "stripe",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  locator,
  facts,
  source: "webhook",
});

describe("guard names", () => {
  it("puts a fact and an event about one order under the order's name", () => {
    expect(guardName(paid)).toBe(paid.orderId);
    expect(eventGuardName(event({ by: "session", ref: "cs_1", claimedOrderId: paid.orderId }))).toBe(
      paid.orderId,
    );
    expect(eventGuardName(event({ by: null, ref: null, claimedOrderId: null }, [paid]))).toBe(paid.orderId);
  });

  it("names a fact or event without an order after its payment or provider object", () => {
    const refund: PaymentFact = {
      kind: "refunded",
      provider: "stripe",
      orderId: null,
      paymentRef: "pi_9",
      refundRef: "re_9",
      amountMinor: 100,
      currency: "USD",
      refundedAtMs: 0,
    };
    expect(guardName(refund)).toBe("payment:stripe:pi_9");
    expect(eventGuardName(event({ by: "payment", ref: "pi_9", claimedOrderId: null }))).toBe(
      "payment:stripe:pi_9",
    );
    expect(eventGuardName(event({ by: null, ref: null, claimedOrderId: null }))).toBe("event:stripe:evt_1");
  });
});

describe("shards", () => {
  it("maps each name to the same shard, pinned: a change here moves orders between objects at deploy", () => {
    expect(ORDER_GUARD_SHARDS).toBe(64);
    expect(shardObjectName("ord_41fa978ed5aa4f5d8e5b1151")).toBe("shard:64:10");
    expect(shardObjectName("payment:stripe:pi_3PqL0x2eZvKYlo2C")).toBe("shard:64:3");
    expect(shardObjectName("session:stripe:cs_test_a1")).toBe("shard:64:18");
    expect(shardObjectName("event:wechatpay:4200001234")).toBe("shard:64:51");
  });

  it("spreads orders evenly over the shards", () => {
    const counts = new Array<number>(ORDER_GUARD_SHARDS).fill(0);
    const orders = 64_000;
    for (let i = 0; i < orders; i++) {
      const shard = shardIndex(`ord_${i.toString(16).padStart(24, "0")}`);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    const expected = orders / ORDER_GUARD_SHARDS;
    expect(Math.min(...counts)).toBeGreaterThan(expected * 0.9);
    expect(Math.max(...counts)).toBeLessThan(expected * 1.1);
  });
});
