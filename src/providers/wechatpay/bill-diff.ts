/**
 * Compares one day's WeChat trade bill with our orders. Pure: rows and orders in, findings out.
 * Each finding becomes an incident keyed by kind and order, so re-running a day never duplicates.
 */
import type { OrderStatus } from "../../ledger/types.ts";
import type { BillRow } from "./bill.ts";

export interface OrderForBill {
  id: string;
  status: OrderStatus;
  amountMinor: number;
  currency: string;
  paymentRef: string | null;
}

export type BillFinding =
  | { kind: "missing_here"; orderId: string; transactionId: string; amountMinor: number }
  | { kind: "missing_there"; orderId: string; paymentRef: string | null }
  | { kind: "amount_differs"; orderId: string; billMinor: number; oursMinor: number }
  | { kind: "status_differs"; orderId: string; billState: string; ourStatus: OrderStatus };

const PAID_STATUSES: readonly OrderStatus[] = ["fulfilled", "partially_refunded", "refunded"];
const REFUNDED_STATUSES: readonly OrderStatus[] = ["partially_refunded", "refunded", "needs_review"];

export function diffTradeBill(rows: readonly BillRow[], orders: readonly OrderForBill[]): BillFinding[] {
  const ours = new Map(orders.map((order) => [order.id, order]));
  const paidInBill = new Set<string>();
  const findings: BillFinding[] = [];
  for (const row of rows) {
    const order = ours.get(row.outTradeNo);
    if (row.tradeState === "SUCCESS") {
      paidInBill.add(row.outTradeNo);
      if (!order || !PAID_STATUSES.includes(order.status)) {
        findings.push({
          kind: "missing_here",
          orderId: row.outTradeNo,
          transactionId: row.transactionId,
          amountMinor: row.amountMinor,
        });
      } else if (order.amountMinor !== row.amountMinor || order.currency !== row.currency) {
        findings.push({
          kind: "amount_differs",
          orderId: order.id,
          billMinor: row.amountMinor,
          oursMinor: order.amountMinor,
        });
      }
    } else if (row.tradeState === "REFUND") {
      paidInBill.add(row.outTradeNo);
      if (order && !REFUNDED_STATUSES.includes(order.status)) {
        findings.push({
          kind: "status_differs",
          orderId: order.id,
          billState: row.tradeState,
          ourStatus: order.status,
        });
      }
    }
  }
  for (const order of orders) {
    if (PAID_STATUSES.includes(order.status) && !paidInBill.has(order.id)) {
      findings.push({ kind: "missing_there", orderId: order.id, paymentRef: order.paymentRef });
    }
  }
  return findings;
}
