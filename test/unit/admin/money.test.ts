import { describe, expect, it } from "vitest";
import {
  formatAmount,
  formatCredits,
  majorFieldValue,
  minorDigits,
  parseMajor,
} from "../../../src/admin/money.ts";
import {
  clawTarget,
  extraPayments,
  fulfilPayment,
  orderPayments,
  refundMove,
  resolutionMove,
} from "../../../src/admin/order-money.ts";

describe("amounts in major units", () => {
  it("counts decimals as the providers do: zero-decimal JPY / KRW, three-decimal KWD, two otherwise", () => {
    expect([
      minorDigits("JPY"),
      minorDigits("krw"),
      minorDigits("KWD"),
      minorDigits("USD"),
      minorDigits("CNY"),
    ]).toEqual([0, 0, 3, 2, 2]);
  });

  it("parses what an operator types into minor units, refusing what it cannot convert exactly", () => {
    expect(parseMajor("49.5", "USD")).toEqual({ ok: true, minor: 4950 });
    expect(parseMajor(" 49.50 ", "usd")).toEqual({ ok: true, minor: 4950 });
    expect(parseMajor("600", "JPY")).toEqual({ ok: true, minor: 600 });
    expect(parseMajor("600.00", "JPY")).toEqual({ ok: true, minor: 600 });
    expect(parseMajor("1.005", "KWD")).toEqual({ ok: true, minor: 1005 });
    expect(parseMajor("600.5", "JPY")).toEqual({ ok: false, problem: "precision" });
    expect(parseMajor("49.505", "USD")).toEqual({ ok: false, problem: "precision" });
    expect(parseMajor("49,50", "USD")).toEqual({ ok: false, problem: "format" });
    expect(parseMajor("-1", "USD")).toEqual({ ok: false, problem: "format" });
    expect(parseMajor("1e3", "USD")).toEqual({ ok: false, problem: "format" });
    expect(parseMajor("0.00", "USD")).toEqual({ ok: false, problem: "zero" });
    expect(parseMajor("99999999999999999", "USD")).toEqual({ ok: false, problem: "too_large" });
  });

  it("formats with the currency and grouping, and a field value that parses back", () => {
    expect(formatAmount(4950, "USD")).toBe("49.50 USD");
    expect(formatAmount(5, "USD")).toBe("0.05 USD");
    expect(formatAmount(123456, "usd")).toBe("1,234.56 USD");
    expect(formatAmount(1200, "JPY")).toBe("1,200 JPY");
    expect(majorFieldValue(123456, "USD")).toBe("1234.56");
    expect(parseMajor(majorFieldValue(123456, "USD"), "USD")).toEqual({ ok: true, minor: 123456 });
    expect([
      formatCredits(16850),
      formatCredits(-600),
      formatCredits(100, true),
      formatCredits(0, true),
    ]).toEqual(["16,850", "−600", "+100", "0"]);
  });
});

const payment = (kind: string, ref: string, amountMinor: number, paidAt: string) => ({
  kind,
  detail: {
    payment_ref: ref,
    amount_minor: amountMinor,
    discount_minor: 0,
    currency: "USD",
    provider: "stripe",
    paid_at: paidAt,
  },
});

/** An admin_order_detail as the SQL returns it: 99.00 USD for 1,200 credits, paid twice. */
const detail = {
  id: "ord_money_unit",
  status: "needs_review",
  provider: "stripe",
  amount_minor: 9900,
  discount_minor: 0,
  currency: "USD",
  credits: 1200,
  payment_ref: "pi_first",
  review_kind: "derived",
  timeline: [
    payment("paid", "pi_first", 9900, "2026-12-01T10:00:00Z"),
    payment("second_payment", "pi_second", 9900, "2026-12-01T10:05:00Z"),
  ],
  refunds: [
    { payment_ref: "pi_first", amount_minor: 3300, currency: "USD", status: "succeeded" },
    { payment_ref: "pi_first", amount_minor: 1000, currency: "USD", status: "failed" },
  ],
  ledger: [
    { kind: "purchase", credits: 1200 },
    { kind: "clawback", credits: -400 },
  ],
  balance: { stored: 16850, ledger_sum: 16850 },
};

describe("what a money action would move, as the settlement SQL computes it", () => {
  it("claws back floor(credits × refunded / paid), everything once the whole payment is back", () => {
    expect(clawTarget(1200, 9900, 4950)).toBe(600);
    expect(clawTarget(100, 1999, 1000)).toBe(50);
    expect(clawTarget(100, 1999, 1)).toBe(0);
    expect(clawTarget(100, 1999, 1999)).toBe(100);
    expect(clawTarget(100, 0, 0)).toBe(0);
  });

  it("reads each payment, what is left to refund on it (succeeded refunds only) and which one is extra", () => {
    const [first, second] = orderPayments(detail);
    expect(first).toMatchObject({
      ref: "pi_first",
      primary: true,
      refundedMinor: 3300,
      remainingMinor: 6600,
    });
    expect(second).toMatchObject({ ref: "pi_second", primary: false, role: "second", remainingMinor: 9900 });
    expect(extraPayments(detail).map((p) => p.ref)).toEqual(["pi_second"]);
    expect(fulfilPayment(detail)?.ref).toBe("pi_first");
  });

  it("takes the payments from the detail's order_payments rows when it carries them (current roles)", () => {
    const withRows = {
      ...detail,
      timeline: [],
      payments: [
        {
          provider: "stripe",
          payment_ref: "pi_first",
          role: "primary",
          amount_minor: 9900,
          discount_minor: 0,
          currency: "USD",
          paid_at: "2026-12-01T10:00:00Z",
        },
        {
          provider: "stripe",
          payment_ref: "pi_other",
          role: "disputed",
          amount_minor: 9900,
          discount_minor: 0,
          currency: "USD",
          paid_at: "2026-12-01T10:09:00Z",
        },
      ],
    };
    expect(orderPayments(withRows).map((p) => [p.ref, p.role, p.primary, p.remainingMinor])).toEqual([
      ["pi_first", "primary", true, 6600],
      ["pi_other", "disputed", false, 9900],
    ]);
  });

  it("previews a refund of the credited payment over the whole set, and none for the extra payment", () => {
    const [first, second] = orderPayments(detail);
    if (!first || !second) throw new Error("two payments expected");
    // 33.00 + 16.50 of 99.00 back: 600 of 1,200 clawed in total, 400 already.
    expect(refundMove(detail, first, 1650)).toEqual({
      deltaCredits: -200,
      orderCredits: 1200,
      balanceBefore: 16850,
      balanceAfter: 16650,
    });
    expect(refundMove(detail, first, 6600).deltaCredits).toBe(-800);
    expect(refundMove(detail, second, 9900).deltaCredits).toBe(0);
  });

  it("previews a rejection as taking back what the order holds, and no fulfil without a payment of its amount", () => {
    expect(resolutionMove(detail, "reject")).toMatchObject({ deltaCredits: -800, balanceAfter: 16050 });
    const mismatched = {
      ...detail,
      payment_ref: null,
      review_kind: "flag",
      timeline: [payment("payment_mismatch", "pi_short", 999, "2026-12-01T10:00:00Z")],
      refunds: [],
      ledger: [],
    };
    expect(resolutionMove(mismatched, "fulfil")).toBeNull();
    expect(extraPayments(mismatched).map((p) => [p.ref, p.role, p.remainingMinor])).toEqual([
      ["pi_short", "mismatch", 999],
    ]);
  });
});
