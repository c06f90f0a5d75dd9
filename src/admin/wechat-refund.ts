/**
 * WeChat Pay refund request (POST /v3/refund/domestic/refunds), signed like every WeChat call and its
 * signed answer verified. WeChat usually answers PROCESSING and reports the outcome by a REFUND.*
 * notification; out_refund_no is our idempotency key, so a repeat is the same refund. The request takes
 * its token from the provider budget.
 */
import { ONE_AT_A_TIME, openProviderBudget } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order } from "../ledger/types.ts";
import { wechatRequest } from "../providers/wechatpay/client.ts";

export async function refundAtWechat(
  deps: Deps,
  order: Order,
  input: {
    amountMinor: number;
    outRefundNo: string;
    reason: string;
    /** Refund this payment (a mismatched one) by its transaction_id and its own total, not the order's. */
    payment?: { transactionId: string; totalMinor: number };
  },
): Promise<Result<{ refundId: string; status: string; amountMinor: number }, InfraError>> {
  const config = deps.config.wechat;
  if (!config)
    return err({ kind: "permanent", code: "unconfigured", message: "wechatpay is not configured" });
  const sent = await wechatRequest(
    config,
    { fetch: openProviderBudget(deps, ONE_AT_A_TIME).fetch("wechatpay"), clock: Date.now },
    {
      method: "POST",
      url: `${config.apiBase}/v3/refund/domestic/refunds`,
      body: {
        ...(input.payment ? { transaction_id: input.payment.transactionId } : { out_trade_no: order.id }),
        out_refund_no: input.outRefundNo,
        reason: input.reason.slice(0, 80),
        notify_url: `${deps.config.publicBaseUrl}/webhooks/wechatpay`,
        amount: {
          refund: input.amountMinor,
          total: input.payment?.totalMinor ?? order.amountMinor,
          currency: order.currency,
        },
      },
    },
  );
  if (!sent.ok) return sent;
  const answer = JSON.parse(new TextDecoder().decode(sent.value.bytes)) as {
    refund_id?: unknown;
    status?: unknown;
    amount?: { refund?: unknown };
  };
  if (typeof answer.refund_id !== "string") {
    return err({ kind: "transient", code: "MALFORMED_RESPONSE", message: "refund answer without refund_id" });
  }
  return ok({
    refundId: answer.refund_id,
    status: typeof answer.status === "string" ? answer.status : "PROCESSING",
    amountMinor: Number.isSafeInteger(answer.amount?.refund)
      ? (answer.amount?.refund as number)
      : input.amountMinor,
  });
}
