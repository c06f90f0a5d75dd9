/**
 * WeChat Pay as a `ProviderApi`: query an order's truth by out_trade_no (an unpaid answer keeps its
 * trade_state, so the reconcile can tell USERPAYING from NOTPAY), and close unpaid orders.
 */
import { NOT_AT_PROVIDER_STATE } from "../../ledger/check-outcome.ts";
import type { ProviderApi } from "../../ledger/ports.ts";
import { err, ok } from "../../ledger/result.ts";
import type { Order, PaymentFact } from "../../ledger/types.ts";
import type { WechatClient } from "./client.ts";
import { transactionFact } from "./notify.ts";
import type { WechatConfig } from "./settings.ts";

export function createWechatProviderApi(config: WechatConfig, client: WechatClient): ProviderApi {
  return {
    provider: "wechatpay",
    async queryOrder(order: Order) {
      const result = await client.queryOrder(order.id);
      if (!result.ok) {
        // Not created at WeChat yet (the customer never opened the QR code): still pending for us.
        if (result.error.code === NOT_AT_PROVIDER_STATE)
          return ok({
            kind: "pending",
            provider: "wechatpay",
            orderId: order.id,
            providerState: NOT_AT_PROVIDER_STATE,
          });
        return err(result.error);
      }
      const fact = transactionFact(result.value, config);
      if (!fact)
        return err({
          kind: "permanent",
          code: "MALFORMED_TRANSACTION",
          message: "query answer has no usable state",
        });
      // USERPAYING (the payer is confirming right now) is worth asking about again soon: say so.
      const state = (result.value as { trade_state?: unknown }).trade_state;
      if (fact.kind === "pending" && typeof state === "string") return ok({ ...fact, providerState: state });
      return ok(fact);
    },
    async closeOrder(order: Order) {
      const result = await client.closeOrder(order.id);
      if (!result.ok && result.error.code !== "ORDER_NOT_EXIST") return err(result.error);
      return ok(undefined);
    },
  };
}

/** WeChat Pay (domestic) refunds are in fen of CNY. */
const REFUND_CURRENCY = "CNY";

/**
 * A refund query answer (`GET /v3/refund/domestic/refunds/{out_refund_no}`, already verified) as the
 * fact its REFUND.SUCCESS notification would have carried; a string says why it is not one yet
 * (PROCESSING, ABNORMAL, CLOSED, another order, malformed).
 */
export function queriedRefundFact(refund: unknown, orderId: string): PaymentFact | string {
  if (typeof refund !== "object" || refund === null) return "refund answer is not an object";
  const answer = refund as Record<string, unknown>;
  if (answer.status !== "SUCCESS") return `refund status ${String(answer.status)}`;
  if (answer.out_trade_no !== orderId) return "refund belongs to another order";
  const amount = (typeof answer.amount === "object" && answer.amount !== null ? answer.amount : {}) as {
    refund?: unknown;
  };
  const refundedAtMs = Date.parse(typeof answer.success_time === "string" ? answer.success_time : "");
  if (typeof answer.refund_id !== "string" || answer.refund_id === "") return "refund answer lacks refund_id";
  if (!Number.isSafeInteger(amount.refund) || (amount.refund as number) <= 0)
    return "refund answer lacks amount.refund";
  return {
    kind: "refunded",
    provider: "wechatpay",
    orderId,
    paymentRef: typeof answer.transaction_id === "string" ? answer.transaction_id : null,
    refundRef: answer.refund_id,
    amountMinor: amount.refund as number,
    currency: REFUND_CURRENCY,
    refundedAtMs: Number.isFinite(refundedAtMs) ? refundedAtMs : 0,
  };
}
