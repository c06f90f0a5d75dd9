// POST /v3/refund/domestic/refunds: a merchant's refund request, as WeChat Pay answers it. The refund is
// keyed by out_refund_no (a repeat returns the same refund), may not exceed what is left of the payment,
// and is answered PROCESSING; its outcome arrives as a REFUND.SUCCESS notification, as at WeChat.
// GET /v3/refund/domestic/refunds/{out_refund_no}: the refund as it stands (status SUCCESS, CLOSED,
// PROCESSING or ABNORMAL), 404 RESOURCE_NOT_EXISTS for an out_refund_no WeChat does not know.
import { json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { beijingRfc3339, refundId } from "./format.ts";
import { paramError, parseJsonObject, wechatError } from "./reply.ts";
import type { ScenarioContext } from "./scenario.ts";
import { isPaid, type RefundRecord, refundObject } from "./state.ts";

const OUT_REFUND_NO_PATTERN = /^[0-9A-Za-z_\-|*@]{1,64}$/;

interface RefundRequest {
  outTradeNo?: string;
  transactionId?: string;
  outRefundNo: string;
  refundMinor: number;
  totalMinor: number;
}

function readRequest(body: Record<string, unknown>): RefundRequest | string {
  const amount = (typeof body.amount === "object" && body.amount !== null ? body.amount : {}) as Record<
    string,
    unknown
  >;
  const outTradeNo = typeof body.out_trade_no === "string" ? body.out_trade_no : undefined;
  const transactionId = typeof body.transaction_id === "string" ? body.transaction_id : undefined;
  if (!outTradeNo && !transactionId) return "out_trade_no or transaction_id is required";
  if (typeof body.out_refund_no !== "string" || !OUT_REFUND_NO_PATTERN.test(body.out_refund_no))
    return "out_refund_no is required";
  const { refund, total, currency } = amount;
  if (!Number.isSafeInteger(refund) || (refund as number) < 1)
    return "amount.refund must be a positive integer";
  if (!Number.isSafeInteger(total) || currency !== "CNY")
    return "amount.total and amount.currency CNY are required";
  return {
    outTradeNo,
    transactionId,
    outRefundNo: body.out_refund_no,
    refundMinor: refund as number,
    totalMinor: total as number,
  };
}

function answer(refund: RefundRecord, status: string): SandboxResponse {
  const object = refundObject(refund);
  return json(200, {
    ...object,
    refund_status: undefined,
    status,
    channel: "ORIGINAL",
    create_time: beijingRfc3339(refund.createdAtMs),
    funds_account: "AVAILABLE",
    amount: { ...(object.amount as object), currency: "CNY", payer_currency: "CNY" },
  });
}

export function createRefund(context: ScenarioContext, request: SandboxRequest): SandboxResponse {
  const body = parseJsonObject(request.body);
  if (!body) return paramError("body is not a JSON object");
  const input = readRequest(body);
  if (typeof input === "string") return paramError(input);
  const { state } = context;
  const repeat = state.refunds.find((refund) => refund.outRefundNo === input.outRefundNo);
  if (repeat) return answer(repeat, repeat.status === "SUCCESS" ? "SUCCESS" : "PROCESSING");
  const order = input.outTradeNo
    ? state.orders.get(input.outTradeNo)
    : [...state.orders.values()].find(
        (candidate) => candidate.payment?.transactionId === input.transactionId,
      );
  if (!order?.payment || !isPaid(order)) return wechatError(404, "RESOURCE_NOT_EXISTS", "订单不存在");
  if (input.totalMinor !== order.payment.amountMinor)
    return paramError("amount.total does not match the order");
  const refunded = state.refunds
    .filter((refund) => refund.outTradeNo === order.outTradeNo && refund.status !== "CLOSED")
    .reduce((sum, refund) => sum + refund.amountMinor, 0);
  if (input.refundMinor > order.payment.amountMinor - refunded) {
    return wechatError(403, "NOT_ENOUGH", "退款金额超过可退金额");
  }
  const nowMs = context.clock();
  const refund: RefundRecord = {
    refundId: refundId(context.random, nowMs),
    outRefundNo: input.outRefundNo,
    outTradeNo: order.outTradeNo,
    transactionId: order.payment.transactionId,
    mchid: order.payment.mchid,
    amountMinor: input.refundMinor,
    totalMinor: order.payment.amountMinor,
    status: "SUCCESS",
    createdAtMs: nowMs,
    successAtMs: nowMs,
  };
  state.refunds.push(refund);
  order.tradeState = "REFUND";
  context.emit(
    {
      eventType: "REFUND.SUCCESS",
      summary: "退款成功",
      originalType: "refund",
      resource: refundObject(refund),
    },
    nowMs,
  );
  return answer(refund, "PROCESSING");
}

export function queryRefund(context: ScenarioContext, outRefundNo: string): SandboxResponse {
  const refund = context.state.refunds.find((candidate) => candidate.outRefundNo === outRefundNo);
  if (!refund) return wechatError(404, "RESOURCE_NOT_EXISTS", "退款单不存在");
  return answer(refund, refund.status);
}
