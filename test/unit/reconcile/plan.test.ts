import { describe, expect, it } from "vitest";
import type { PaymentFact } from "../../../src/ledger/types.ts";
import { createTickBudget } from "../../../src/reconcile/limits.ts";
import {
  checkableInTimeLeft,
  decide,
  PAYER_CONFIRMING_RECHECK_S,
  pool,
  stepFor,
} from "../../../src/reconcile/plan.ts";
import { callbackUrlProblem } from "../../../src/reconcile/public-url.ts";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const pending: PaymentFact = { kind: "pending", provider: "wechatpay", orderId: "ord_1" };
const paid: PaymentFact = {
  kind: "paid",
  provider: "wechatpay",
  orderId: "ord_1",
  paymentRef: "tx_1",
  amountMinor: 990,
  currency: "CNY",
  paidAtMs: NOW,
};

const fakeClock = () => ({ now: () => NOW });

describe("reconcile plan", () => {
  it("queries before expiry and closes first at expiry", () => {
    expect(stepFor({ expiresAtMs: NOW + 1 }, NOW)).toBe("query");
    expect(stepFor({ expiresAtMs: NOW }, NOW)).toBe("close_then_query");
  });

  it("settles a payment found after the close and expires an order still unpaid after it", () => {
    expect(decide(paid, "close_then_query")).toEqual({ kind: "settle", fact: paid });
    expect(decide(pending, "close_then_query")).toEqual({
      kind: "settle",
      fact: { kind: "expired", provider: "wechatpay", orderId: "ord_1" },
    });
    expect(decide(pending, "query")).toEqual({ kind: "recheck" });
  });

  it("asks again soon while the payer is confirming, on the backoff otherwise", () => {
    const paying: PaymentFact = { ...pending, providerState: "USERPAYING" };
    expect(decide(paying, "query")).toEqual({ kind: "recheck", delaySeconds: PAYER_CONFIRMING_RECHECK_S });
    expect(decide({ ...pending, providerState: "NOTPAY" }, "query")).toEqual({ kind: "recheck" });
    expect(decide(paying, "close_then_query")).toEqual({
      kind: "settle",
      fact: { kind: "expired", provider: "wechatpay", orderId: "ord_1" },
    });
  });

  it("leases no more than the run can check in the wall time it has left, at its pace so far", () => {
    expect(checkableInTimeLeft(0, 0, 240_000)).toBe(Number.POSITIVE_INFINITY);
    // 10 orders a second so far, 15 s left: 150 more, not a whole page of 200.
    expect(checkableInTimeLeft(2_250, 225_000, 15_000)).toBe(150);
    expect(checkableInTimeLeft(2_250, 225_000, 50)).toBe(0);
  });

  it("pool stops starting work once a worker answers false", async () => {
    const seen: number[] = [];
    await pool([1, 2, 3, 4, 5, 6], 1, async (n) => {
      seen.push(n);
      return n < 3;
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe("tick budget", () => {
  it("stops at the first exhausted budget and says which", () => {
    const clock = fakeClock();
    const budget = createTickBudget({ ordersMax: 2, subrequestsMax: 100, wallMsMax: 1000 }, clock.now);
    expect(budget.take({ orders: 1, subrequests: 3 })).toBe(true);
    expect(budget.take({ orders: 1, subrequests: 3 })).toBe(true);
    expect(budget.take({ orders: 1, subrequests: 3 })).toBe(false);
    expect(budget.stoppedBy()).toBe("orders");
    const tight = createTickBudget({ ordersMax: 10, subrequestsMax: 5, wallMsMax: 1000 }, clock.now);
    expect(tight.take({ orders: 1, subrequests: 4 })).toBe(true);
    expect(tight.take({ orders: 1, subrequests: 4 })).toBe(false);
    expect(tight.stoppedBy()).toBe("subrequests");
  });
});

describe("callback URLs", () => {
  it.each([
    ["http://pay.example.com/webhooks/stripe", "not https"],
    ["https://localhost:8787/webhooks/wechatpay", "not public"],
    ["https://127.0.0.1/x", "not public"],
    ["https://10.1.2.3/x", "not public"],
    ["https://192.168.1.10/x", "not public"],
    ["https://172.20.0.1/x", "not public"],
    ["https://169.254.169.254/x", "not public"],
    ["https://[::1]/x", "not public"],
    ["https://[fe80::1]/x", "not public"],
    ["https://pay.local/x", "not public"],
    ["https://pay.internal/x", "not public"],
    ["https://intranet/x", "not a public name"],
  ])("refuses %s", (url, reason) => {
    expect(callbackUrlProblem(url)).toContain(reason);
  });

  it("accepts https on a public name", () => {
    expect(callbackUrlProblem("https://pay.example.com/webhooks/stripe")).toBeNull();
  });
});
