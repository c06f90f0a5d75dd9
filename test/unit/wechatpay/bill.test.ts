import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type BillRow, parseTradeBill, yuanToFen } from "../../../src/providers/wechatpay/bill.ts";
import { diffTradeBill, type OrderForBill } from "../../../src/providers/wechatpay/bill-diff.ts";

const fixture = (layout: string) =>
  readFileSync(new URL(`../../fixtures/wechatpay/tradebill-${layout}.csv`, import.meta.url), "utf8");

function rowsOf(layout: string) {
  const parsed = parseTradeBill(fixture(layout));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

describe("yuanToFen", () => {
  it.each([
    ["9.90", 990],
    ["0.01", 1],
    ["12", 1200],
    ["-4.95", -495],
    ["1234567.8", 123456780],
  ])("%s yuan is %i fen", (text, fen) => expect(yuanToFen(text)).toBe(fen));

  it.each(["9.999", "abc", "1,00", ""])("refuses %j", (text) => expect(yuanToFen(text)).toBeNull());
});

describe("parseTradeBill", () => {
  it("reads the ALL layout by header name, skipping BOM, back-ticks, CRLF and the summary lines", () => {
    const rows = rowsOf("all");
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual({
      transactionId: "4200000001",
      outTradeNo: "ord_paid_ok",
      tradeState: "SUCCESS",
      currency: "CNY",
      amountMinor: 990,
      refundId: null,
      outRefundNo: null,
      refundMinor: 0,
      tradeTimeText: "2026-11-21 10:00:00",
    });
    expect(rows[3]).toMatchObject({
      tradeState: "REFUND",
      refundId: "50000000001",
      outRefundNo: "rf_1",
      refundMinor: 495,
      amountMinor: 990,
    });
  });

  it("keeps a product name containing a comma in its own column", () => {
    expect(rowsOf("success")).toEqual([
      expect.objectContaining({ outTradeNo: "ord_paid_ok", amountMinor: 990 }),
    ]);
  });

  it("reads the REFUND layout", () => {
    expect(rowsOf("refund")).toEqual([
      expect.objectContaining({ outTradeNo: "ord_refunded_there", tradeState: "REFUND", refundMinor: 495 }),
    ]);
  });

  it("refuses a file without the columns it needs or with a bad amount", () => {
    expect(parseTradeBill("a,b\r\n`1,`2\r\nx\r\n`y\r\n")).toMatchObject({ ok: false });
    const broken = fixture("success").replaceAll("`9.90", "`9.9x");
    expect(parseTradeBill(broken)).toMatchObject({ ok: false, error: { kind: "malformed_bill" } });
  });
});

describe("diffTradeBill", () => {
  const order = (
    id: string,
    status: OrderForBill["status"],
    amountMinor = 990,
    refundRefs: string[] = [],
  ): OrderForBill => ({
    id,
    status,
    amountMinor,
    currency: "CNY",
    paymentRef: `tx_${id}`,
    refundRefs,
  });

  it("finds each planted discrepancy and nothing else", () => {
    const ours = [
      order("ord_paid_ok", "fulfilled"),
      order("ord_amount_off", "fulfilled", 990),
      order("ord_refunded_there", "fulfilled"),
      order("ord_missing_there", "fulfilled"),
      order("ord_still_pending", "pending"),
    ];
    expect(diffTradeBill(rowsOf("all"), ours)).toEqual([
      { kind: "missing_here", orderId: "ord_not_here", transactionId: "4200000002", amountMinor: 1990 },
      { kind: "amount_differs", orderId: "ord_amount_off", billMinor: 100, oursMinor: 990 },
      {
        kind: "refund_missing_here",
        orderId: "ord_refunded_there",
        refundId: "50000000001",
        outRefundNo: "rf_1",
        refundMinor: 495,
      },
      { kind: "missing_there", orderId: "ord_missing_there", paymentRef: "tx_ord_missing_there" },
    ]);
  });

  it("treats a bill payment for an order we never fulfilled as missing here", () => {
    expect(diffTradeBill(rowsOf("success"), [order("ord_paid_ok", "expired")])).toEqual([
      { kind: "missing_here", orderId: "ord_paid_ok", transactionId: "4200000001", amountMinor: 990 },
    ]);
  });
});

describe("diffTradeBill: refund rows, compared by refund id", () => {
  const ORDER_ID = "ord_refunded_twice";
  const paid: BillRow = {
    transactionId: "4200000009",
    outTradeNo: ORDER_ID,
    tradeState: "SUCCESS",
    currency: "CNY",
    amountMinor: 990,
    refundId: null,
    outRefundNo: null,
    refundMinor: 0,
    tradeTimeText: "2026-11-21 10:00:00",
  };
  const refundRow = (refundId: string | null, outRefundNo: string | null, refundMinor: number): BillRow => ({
    ...paid,
    tradeState: "REFUND",
    amountMinor: 0,
    refundId,
    outRefundNo,
    refundMinor,
    tradeTimeText: "2026-11-21 12:00:00",
  });
  const first = refundRow("50000000011", "rf_first", 300);
  const second = refundRow("50000000012", "rf_second", 400);
  const ours = (status: OrderForBill["status"], refundRefs: string[]): OrderForBill[] => [
    { id: ORDER_ID, status, amountMinor: 990, currency: "CNY", paymentRef: "4200000009", refundRefs },
  ];
  const missing = (row: BillRow) => ({
    kind: "refund_missing_here",
    orderId: ORDER_ID,
    refundId: row.refundId,
    outRefundNo: row.outRefundNo,
    refundMinor: row.refundMinor,
  });

  it("finds the second refund of a partly refunded order whose notification was lost, and only it", () => {
    const findings = diffTradeBill([paid, first, second], ours("partially_refunded", ["50000000011"]));
    expect(findings).toEqual([missing(second)]);
  });

  it.each([
    "fulfilled",
    "partially_refunded",
    "refunded",
    "needs_review",
    "pending",
    "expired",
    "failed",
  ] as const)("finds a refund payguard has not recorded on an order that is %s", (status) => {
    const findings = diffTradeBill([first, second], ours(status, ["50000000011"]));
    expect(findings).toEqual([missing(second)]);
  });

  it("finds nothing when every refund row is recorded", () => {
    expect(diffTradeBill([paid, first, second], ours("refunded", ["50000000012", "50000000011"]))).toEqual(
      [],
    );
  });

  it("finds the refunds of an order payguard never stored, so they are settled (held) too", () => {
    expect(diffTradeBill([first], [])).toEqual([missing(first)]);
  });

  it("counts a refund row without a refund id as not recorded", () => {
    const anonymous = refundRow(null, "rf_anonymous", 100);
    expect(diffTradeBill([anonymous], ours("partially_refunded", ["50000000011"]))).toEqual([
      missing(anonymous),
    ]);
  });
});
