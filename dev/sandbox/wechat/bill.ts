// The trade bill (交易账单) file exactly as WeChat Pay lays it out: UTF-8 BOM, a header line, one row per
// payment that succeeded and per refund that was initiated that Beijing day, then the summary header and
// the summary row. Every detail and summary value is prefixed with a back-tick (so spreadsheets keep
// long ids), amounts are yuan with two decimals, the fee keeps WeChat's five decimals (two significant,
// three zeros padded), lines end CRLF. Column sets per bill type are those of WeChat's bill format page.
import { beijingDate, beijingDateTime, yuan } from "./format.ts";
import type { OrderRecord, PaymentRecord, RefundRecord } from "./state.ts";

export type BillType = "ALL" | "SUCCESS" | "REFUND";
export const BILL_TYPES: readonly BillType[] = ["ALL", "SUCCESS", "REFUND"];

/** 0.6 %, WeChat's standard rate, rounded half-up to the fen like WeChat does. */
const FEE_RATE_PER_MILLE = 6;
const FEE_RATE_TEXT = "0.60%";
const BANK_TYPE = "OTHERS";
const REFUND_TYPE = "ORIGINAL";
const BOM = "\uFEFF";
const LINE_END = "\r\n";

interface BillRow {
  timeMs: number;
  order: OrderRecord;
  payment: PaymentRecord;
  refund?: RefundRecord;
  settledFen: number;
  feeFen: number;
}

const fee = (fen: number): string => `${yuan(fen)}000`;
const feeOf = (fen: number): number => Math.round((fen * FEE_RATE_PER_MILLE) / 1000);

const COLUMNS: Record<string, (row: BillRow) => string> = {
  交易时间: (row) => beijingDateTime(row.timeMs),
  公众账号ID: (row) => row.payment.appid,
  商户号: (row) => row.payment.mchid,
  特约商户号: () => "0",
  设备号: () => "",
  微信订单号: (row) => row.payment.transactionId,
  商户订单号: (row) => row.order.outTradeNo,
  用户标识: (row) => row.payment.openid,
  交易类型: (row) => row.order.tradeType,
  交易状态: (row) => (row.refund ? "REFUND" : "SUCCESS"),
  付款银行: () => BANK_TYPE,
  货币种类: (row) => row.payment.currency,
  应结订单金额: (row) => yuan(row.settledFen),
  代金券金额: () => yuan(0),
  退款申请时间: (row) => (row.refund ? beijingDateTime(row.refund.createdAtMs) : ""),
  退款成功时间: (row) =>
    row.refund?.successAtMs === undefined ? "" : beijingDateTime(row.refund.successAtMs),
  微信退款单号: (row) => row.refund?.refundId ?? "0",
  商户退款单号: (row) => row.refund?.outRefundNo ?? "0",
  退款金额: (row) => yuan(row.refund?.amountMinor ?? 0),
  充值券退款金额: () => yuan(0),
  退款类型: (row) => (row.refund ? REFUND_TYPE : ""),
  退款状态: (row) => row.refund?.status ?? "",
  商品名称: (row) => row.order.description,
  商户数据包: (row) => row.payment.attach ?? "",
  手续费: (row) => fee(row.feeFen),
  费率: () => FEE_RATE_TEXT,
  订单金额: (row) => yuan(row.refund ? 0 : row.payment.amountMinor),
  申请退款金额: (row) => yuan(row.refund?.amountMinor ?? 0),
  费率备注: () => "",
};

const sum = (rows: BillRow[], pick: (row: BillRow) => number): number =>
  rows.reduce((total, row) => total + pick(row), 0);

const SUMMARY: Record<string, (rows: BillRow[]) => string> = {
  总交易单数: (rows) => String(rows.length),
  应结订单总金额: (rows) => yuan(sum(rows, (row) => row.settledFen)),
  退款总金额: (rows) => yuan(sum(rows, (row) => row.refund?.amountMinor ?? 0)),
  充值券退款总金额: () => yuan(0),
  手续费总金额: (rows) => fee(sum(rows, (row) => row.feeFen)),
  订单总金额: (rows) => yuan(sum(rows, (row) => (row.refund ? 0 : row.payment.amountMinor))),
  申请退款总金额: (rows) => yuan(sum(rows, (row) => row.refund?.amountMinor ?? 0)),
};

const HEAD =
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额";
const TAIL = "商品名称,商户数据包,手续费,费率,订单金额";
export const BILL_HEADERS: Record<BillType, string> = {
  ALL: `${HEAD},微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,${TAIL},申请退款金额,费率备注`,
  SUCCESS: `${HEAD},${TAIL},费率备注`,
  REFUND: `${HEAD},退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,${TAIL},申请退款金额,费率备注`,
};
const FULL_SUMMARY =
  "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
export const BILL_SUMMARY_HEADERS: Record<BillType, string> = {
  ALL: FULL_SUMMARY,
  SUCCESS: "总交易单数,应结订单总金额,手续费总金额,订单总金额",
  REFUND: FULL_SUMMARY,
};

export interface BillInput {
  date: string;
  type: BillType;
  mchid: string;
  orders: Iterable<OrderRecord>;
  refunds: readonly RefundRecord[];
}

/** This merchant's payments and refunds of the day, in time order; a refund row settles nothing. */
function dayRows(input: BillInput): BillRow[] {
  const onDay = (ms: number) => beijingDate(ms) === input.date;
  const paid = [...input.orders].filter((order) => order.payment && order.payment.mchid === input.mchid);
  const byTransaction = new Map(paid.map((order) => [order.payment?.transactionId, order]));
  const rows: BillRow[] = [];
  for (const order of paid) {
    const payment = order.payment as PaymentRecord;
    if (!onDay(payment.successAtMs)) continue;
    const settledFen = payment.amountMinor;
    rows.push({ timeMs: payment.successAtMs, order, payment, settledFen, feeFen: feeOf(settledFen) });
  }
  for (const refund of input.refunds) {
    const order = byTransaction.get(refund.transactionId);
    if (!order?.payment || !onDay(refund.createdAtMs)) continue;
    rows.push({
      timeMs: refund.createdAtMs,
      order,
      payment: order.payment,
      refund,
      settledFen: 0,
      feeFen: -feeOf(refund.amountMinor),
    });
  }
  return rows.sort((a, b) => a.timeMs - b.timeMs);
}

const ticked = (values: string[]): string => values.map((value) => `\`${value}`).join(",");

/** The bill text, or null when the merchant had no payment and no refund that day (WeChat: no bill). */
export function buildTradeBill(input: BillInput): string | null {
  const all = dayRows(input);
  if (all.length === 0) return null;
  const rows =
    input.type === "ALL" ? all : all.filter((row) => (input.type === "REFUND") === Boolean(row.refund));
  const header = BILL_HEADERS[input.type];
  const summaryHeader = BILL_SUMMARY_HEADERS[input.type];
  const lines = [
    header,
    ...rows.map((row) =>
      ticked(header.split(",").map((column) => (COLUMNS[column] as (row: BillRow) => string)(row))),
    ),
    summaryHeader,
    ticked(summaryHeader.split(",").map((column) => (SUMMARY[column] as (rows: BillRow[]) => string)(rows))),
  ];
  return `${BOM}${lines.join(LINE_END)}${LINE_END}`;
}
