// The scenario steps of the WeChat Pay simulator: what happens at WeChat when a customer pays (or never
// does), the merchant refunds, or WeChat probes the notify URL. Each step updates WeChat's records and
// emits the notification WeChat would send. Steps WeChat could not take throw WechatScenarioError.
import type { Clock } from "../http.ts";
import type { Random } from "../rng.ts";
import { openid, randomDigits, refundId, transactionId } from "./format.ts";
import type { WechatCredentials } from "./keys.ts";
import type { NotificationSpec } from "./notify.ts";
import {
  closeExpiredOrders,
  isPaid,
  ORDER_EXPIRE_DEFAULT_MS,
  type OrderRecord,
  type PaymentRecord,
  type RefundRecord,
  type RefundStatus,
  refundObject,
  transactionObject,
  type WechatState,
} from "./state.ts";

export interface WechatPayInput {
  outTradeNo: string;
  /** required when the order does not exist yet; differing from the order = "customer paid another amount" */
  amountMinor?: number;
  currency?: string;
  attach?: string;
  /** another merchant's mchid/appid: "a notification for another merchant" */
  mchid?: string;
  appid?: string;
}

export interface WechatRefundInput {
  outTradeNo: string;
  amountMinor: number;
  status?: RefundStatus;
}

/** A scenario step that cannot happen at WeChat (refund of an unpaid order …): the caller's mistake. */
export class WechatScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WechatScenarioError";
  }
}

export interface ScenarioContext {
  state: WechatState;
  credentials: WechatCredentials;
  clock: Clock;
  random: Random;
  /** signs, encrypts and hands over one notification; returns its id */
  emit(spec: NotificationSpec, nowMs: number, probe?: boolean): string;
}

const CURRENCY_DEFAULT = "CNY";
const SANDBOX_DESCRIPTION = "payguard sandbox order";
const PROBE_ORDER_DIGITS = 16;
const OUT_REFUND_NO_DIGITS = 20;
const REFUND_SUMMARY: Record<RefundStatus, string> = {
  SUCCESS: "退款成功",
  ABNORMAL: "退款异常",
  CLOSED: "退款关闭",
};

function positiveAmount(amountMinor: number | undefined): void {
  if (amountMinor !== undefined && !(Number.isSafeInteger(amountMinor) && amountMinor > 0)) {
    throw new WechatScenarioError("amountMinor must be a positive integer number of fen");
  }
}

const newOrder = (
  context: ScenarioContext,
  outTradeNo: string,
  amountMinor: number,
  nowMs: number,
): OrderRecord => ({
  outTradeNo,
  appid: context.credentials.appid,
  mchid: context.credentials.mchid,
  description: SANDBOX_DESCRIPTION,
  amountMinor,
  currency: CURRENCY_DEFAULT,
  createdAtMs: nowMs,
  expireAtMs: nowMs + ORDER_EXPIRE_DEFAULT_MS,
  tradeType: "NATIVE",
  tradeState: "NOTPAY",
});

/**
 * A closed (or expired) order can still be paid: WeChat has let customers pay a just-closed order's QR
 * code, which is payguard's "late payment" case. A paid order cannot be paid twice.
 */
function payableOrder(context: ScenarioContext, input: WechatPayInput, nowMs: number): OrderRecord {
  const existing = context.state.orders.get(input.outTradeNo);
  if (existing && isPaid(existing))
    throw new WechatScenarioError(`order ${input.outTradeNo} is already paid`);
  if (existing) return existing;
  if (input.amountMinor === undefined) {
    throw new WechatScenarioError(`order ${input.outTradeNo} does not exist: pass amountMinor to create it`);
  }
  const order = newOrder(context, input.outTradeNo, input.amountMinor, nowMs);
  context.state.orders.set(order.outTradeNo, order);
  return order;
}

function settle(
  context: ScenarioContext,
  order: OrderRecord,
  input: WechatPayInput,
  nowMs: number,
): PaymentRecord {
  const payment: PaymentRecord = {
    transactionId: transactionId(context.random, nowMs),
    appid: input.appid ?? order.appid,
    mchid: input.mchid ?? order.mchid,
    openid: openid(context.random),
    amountMinor: input.amountMinor ?? order.amountMinor,
    currency: input.currency ?? order.currency,
    attach: input.attach ?? order.attach,
    successAtMs: nowMs,
  };
  order.payment = payment;
  order.tradeState = "SUCCESS";
  return payment;
}

const paidSpec = (order: OrderRecord): NotificationSpec => ({
  eventType: "TRANSACTION.SUCCESS",
  summary: "支付成功",
  originalType: "transaction",
  resource: transactionObject(order),
});

export function payOrder(
  context: ScenarioContext,
  input: WechatPayInput,
): { transactionId: string; eventId: string } {
  positiveAmount(input.amountMinor);
  const nowMs = context.clock();
  closeExpiredOrders(context.state, nowMs);
  const order = payableOrder(context, input, nowMs);
  const payment = settle(context, order, input, nowMs);
  return { transactionId: payment.transactionId, eventId: context.emit(paidSpec(order), nowMs) };
}

/** The customer pays at the moment the merchant's close call arrives: nothing happens until then. */
export function payAtClose(context: ScenarioContext, input: WechatPayInput): void {
  positiveAmount(input.amountMinor);
  closeExpiredOrders(context.state, context.clock());
  context.state.payAtClose.add(payableOrder(context, input, context.clock()).outTradeNo);
}

/**
 * A close call for an order armed by `payAtClose`: the payment lands first (and WeChat notifies it), so
 * the close that follows meets a paid order and is refused with ORDERPAID, as WeChat documents.
 */
export function payBeforeClose(context: ScenarioContext, outTradeNo: string): void {
  if (!context.state.payAtClose.delete(outTradeNo)) return;
  const order = context.state.orders.get(outTradeNo);
  if (!order || isPaid(order) || order.tradeState === "CLOSED") return;
  const nowMs = context.clock();
  settle(context, order, { outTradeNo }, nowMs);
  context.emit(paidSpec(order), nowMs);
}

/** The customer scanned and is confirming (password, bank check): queries answer USERPAYING until paid. */
export function startPaying(context: ScenarioContext, input: WechatPayInput): void {
  positiveAmount(input.amountMinor);
  const nowMs = context.clock();
  closeExpiredOrders(context.state, nowMs);
  const order = payableOrder(context, input, nowMs);
  if (order.tradeState !== "NOTPAY" && order.tradeState !== "USERPAYING")
    throw new WechatScenarioError(`order ${input.outTradeNo} is ${order.tradeState}`);
  order.tradeState = "USERPAYING";
}

export function refundOrder(
  context: ScenarioContext,
  input: WechatRefundInput,
): { refundId: string; eventId: string } {
  positiveAmount(input.amountMinor);
  const order = context.state.orders.get(input.outTradeNo);
  if (!order?.payment) throw new WechatScenarioError(`order ${input.outTradeNo} has no payment to refund`);
  const nowMs = context.clock();
  const status = input.status ?? "SUCCESS";
  const refund: RefundRecord = {
    refundId: refundId(context.random, nowMs),
    outRefundNo: `RF${randomDigits(context.random, OUT_REFUND_NO_DIGITS)}`,
    outTradeNo: input.outTradeNo,
    transactionId: order.payment.transactionId,
    mchid: order.payment.mchid,
    amountMinor: input.amountMinor,
    totalMinor: order.payment.amountMinor,
    status,
    createdAtMs: nowMs,
    successAtMs: status === "SUCCESS" ? nowMs : undefined,
  };
  context.state.refunds.push(refund);
  if (status === "SUCCESS") order.tradeState = "REFUND";
  const spec = {
    eventType: `REFUND.${status}`,
    summary: REFUND_SUMMARY[status],
    originalType: "refund" as const,
  };
  return {
    refundId: refund.refundId,
    eventId: context.emit({ ...spec, resource: refundObject(refund) }, nowMs),
  };
}

/** A well-formed payment notification for an order nobody placed, under a signature that cannot verify. */
export function sendProbe(context: ScenarioContext): { eventId: string } {
  const nowMs = context.clock();
  const order = newOrder(context, `SIGNTEST${randomDigits(context.random, PROBE_ORDER_DIGITS)}`, 1, nowMs);
  settle(context, order, { outTradeNo: order.outTradeNo }, nowMs);
  return { eventId: context.emit(paidSpec(order), nowMs, true) };
}

/** The customer walks away: WeChat records and sends nothing, so this only checks the order is unpaid. */
export function abandonOrder(context: ScenarioContext, outTradeNo: string): void {
  closeExpiredOrders(context.state, context.clock());
  const order = context.state.orders.get(outTradeNo);
  if (!order) throw new WechatScenarioError(`order ${outTradeNo} does not exist`);
  if (order.tradeState !== "NOTPAY")
    throw new WechatScenarioError(`order ${outTradeNo} is ${order.tradeState}`);
}
