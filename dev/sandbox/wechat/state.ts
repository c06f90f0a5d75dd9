// What the WeChat Pay simulator remembers: orders by out_trade_no (with the payment that settled them)
// and refunds, plus the JSON objects WeChat returns for them (query answers, notification resources).
import { beijingRfc3339 } from "./format.ts";

/** USERPAYING: the payer is confirming (password, bank check); WeChat answers it while they do. */
export type TradeState = "NOTPAY" | "USERPAYING" | "SUCCESS" | "REFUND" | "CLOSED";
/** How the order was created: `/v3/pay/transactions/native` or `/jsapi`. */
export type TradeType = "NATIVE" | "JSAPI";
export type RefundStatus = "SUCCESS" | "ABNORMAL" | "CLOSED";

/** Unpaid orders close by themselves after `time_expire`, 7 days when the merchant sets none. */
export const ORDER_EXPIRE_DEFAULT_MS = 7 * 24 * 60 * 60 * 1000;
const BANK_TYPE = "OTHERS";
const PAYER_CURRENCY = "CNY";
const USER_RECEIVED_ACCOUNT = "支付用户零钱";

export interface PaymentRecord {
  transactionId: string;
  appid: string;
  mchid: string;
  openid: string;
  amountMinor: number;
  currency: string;
  attach?: string;
  successAtMs: number;
}

export interface OrderRecord {
  outTradeNo: string;
  appid: string;
  mchid: string;
  description: string;
  attach?: string;
  amountMinor: number;
  currency: string;
  createdAtMs: number;
  expireAtMs: number;
  codeUrl?: string;
  tradeType: TradeType;
  tradeState: TradeState;
  payment?: PaymentRecord;
}

export interface RefundRecord {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  transactionId: string;
  mchid: string;
  amountMinor: number;
  totalMinor: number;
  status: RefundStatus;
  createdAtMs: number;
  successAtMs?: number;
}

export interface WechatState {
  orders: Map<string, OrderRecord>;
  refunds: RefundRecord[];
  /** Orders whose customer pays while the merchant's close call is in flight (scenario `pay` atClose). */
  payAtClose: Set<string>;
  /**
   * Bill days (YYYY-MM-DD, Beijing) served before their time, today's too (`/_control/wechat/bill/publish`):
   * a run of minutes cannot wait for 10:00 the next day, and moving the clock there would put every
   * merchant request's signature timestamp out of its five minutes.
   */
  billsPublished: Set<string>;
}

export const createWechatState = (): WechatState => ({
  orders: new Map(),
  refunds: [],
  payAtClose: new Set(),
  billsPublished: new Set(),
});

/** Applies time_expire lazily: called before anything reads or changes orders. */
export function closeExpiredOrders(state: WechatState, nowMs: number): void {
  for (const order of state.orders.values()) {
    if (order.tradeState === "NOTPAY" && order.expireAtMs <= nowMs) order.tradeState = "CLOSED";
  }
}

export const isPaid = (order: OrderRecord): boolean =>
  order.tradeState === "SUCCESS" || order.tradeState === "REFUND";

const TRADE_STATE_DESC: Record<TradeState, string> = {
  NOTPAY: "订单未支付",
  USERPAYING: "用户支付中，需输入密码",
  SUCCESS: "支付成功",
  REFUND: "转入退款",
  CLOSED: "订单已关闭",
};

/**
 * The transaction object of a query answer or a TRANSACTION.SUCCESS resource. Unpaid orders carry no
 * transaction_id, payer or success_time and their amount has no `currency`, exactly as WeChat answers.
 */
export function transactionObject(order: OrderRecord): Record<string, unknown> {
  const common = { out_trade_no: order.outTradeNo, promotion_detail: [] };
  const state = { trade_state: order.tradeState, trade_state_desc: TRADE_STATE_DESC[order.tradeState] };
  const payment = order.payment;
  if (!payment) {
    return {
      amount: { payer_currency: PAYER_CURRENCY, total: order.amountMinor },
      appid: order.appid,
      mchid: order.mchid,
      ...common,
      scene_info: { device_id: "" },
      ...state,
    };
  }
  return {
    amount: {
      currency: payment.currency,
      payer_currency: PAYER_CURRENCY,
      payer_total: payment.amountMinor,
      total: payment.amountMinor,
    },
    appid: payment.appid,
    attach: payment.attach ?? "",
    bank_type: BANK_TYPE,
    mchid: payment.mchid,
    ...common,
    payer: { openid: payment.openid },
    success_time: beijingRfc3339(payment.successAtMs),
    ...state,
    trade_type: order.tradeType,
    transaction_id: payment.transactionId,
  };
}

/** The refund object of a REFUND.* resource; only a successful refund has a success_time. */
export function refundObject(refund: RefundRecord): Record<string, unknown> {
  return {
    mchid: refund.mchid,
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    refund_status: refund.status,
    ...(refund.successAtMs === undefined ? {} : { success_time: beijingRfc3339(refund.successAtMs) }),
    user_received_account: USER_RECEIVED_ACCOUNT,
    amount: {
      total: refund.totalMinor,
      refund: refund.amountMinor,
      payer_total: refund.totalMinor,
      payer_refund: refund.amountMinor,
    },
  };
}
