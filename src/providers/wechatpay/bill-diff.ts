/**
 * Compares one day's WeChat trade bill with our orders. Pure: rows and orders in, findings out.
 * A payment is compared with its order; a refund row is compared by its refund id with the refunds
 * payguard has recorded for the order, so a second or later refund whose notification was lost is found
 * whatever the order's status. Each finding becomes an incident keyed by kind, order (and refund), so
 * re-running a day never duplicates.
 */
import type { OrderStatus } from "../../ledger/types.ts";
import type { BillRow } from "./bill.ts";

export interface OrderForBill {
  id: string;
  status: OrderStatus;
  amountMinor: number;
  currency: string;
  paymentRef: string | null;
  /** The WeChat refund ids (refund_id) payguard has recorded for the order, failed ones included. */
  refundRefs: readonly string[];
}

export type BillFinding =
  | { kind: "missing_here"; orderId: string; transactionId: string; amountMinor: number }
  | { kind: "missing_there"; orderId: string; paymentRef: string | null }
  | { kind: "amount_differs"; orderId: string; billMinor: number; oursMinor: number }
  | {
      kind: "refund_missing_here";
      orderId: string;
      refundId: string | null;
      outRefundNo: string | null;
      refundMinor: number;
    };

const PAID_STATUSES: readonly OrderStatus[] = ["fulfilled", "partially_refunded", "refunded"];

function paymentFinding(row: BillRow, order: OrderForBill | undefined): BillFinding | null {
  if (!order || !PAID_STATUSES.includes(order.status)) {
    return {
      kind: "missing_here",
      orderId: row.outTradeNo,
      transactionId: row.transactionId,
      amountMinor: row.amountMinor,
    };
  }
  if (order.amountMinor !== row.amountMinor || order.currency !== row.currency) {
    return {
      kind: "amount_differs",
      orderId: order.id,
      billMinor: row.amountMinor,
      oursMinor: order.amountMinor,
    };
  }
  return null;
}

/** A refund row payguard has not recorded (a row without a refund id cannot be matched, so it counts). */
function refundFinding(row: BillRow, order: OrderForBill | undefined): BillFinding | null {
  if (row.refundId !== null && order?.refundRefs.includes(row.refundId)) return null;
  return {
    kind: "refund_missing_here",
    orderId: row.outTradeNo,
    refundId: row.refundId,
    outRefundNo: row.outRefundNo,
    refundMinor: row.refundMinor,
  };
}

/** How each kind of bill row is compared; rows in other states (REVOKED, ...) are not. */
const COMPARE_BY_STATE = new Map([
  ["SUCCESS", paymentFinding],
  ["REFUND", refundFinding],
]);

export function diffTradeBill(rows: readonly BillRow[], orders: readonly OrderForBill[]): BillFinding[] {
  const ours = new Map(orders.map((order) => [order.id, order]));
  const paidInBill = new Set<string>();
  const findings: BillFinding[] = [];
  for (const row of rows) {
    const compare = COMPARE_BY_STATE.get(row.tradeState);
    if (!compare) continue;
    paidInBill.add(row.outTradeNo);
    const finding = compare(row, ours.get(row.outTradeNo));
    if (finding) findings.push(finding);
  }
  for (const order of orders) {
    if (PAID_STATUSES.includes(order.status) && !paidInBill.has(order.id)) {
      findings.push({ kind: "missing_there", orderId: order.id, paymentRef: order.paymentRef });
    }
  }
  return findings;
}
