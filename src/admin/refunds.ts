/**
 * Refund at the provider. The answer becomes a refund fact when the provider says the refund succeeded;
 * a pending Stripe refund or a PROCESSING WeChat Pay refund is settled later by its webhook. The fact is
 * keyed by the provider's refund id, so the webhook for the same refund finds it already applied and
 * claws back nothing more.
 */
import type { Deps } from "../deps.ts";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order, PaymentFact } from "../ledger/types.ts";
import { planStripeEvent } from "../providers/stripe/normalise.ts";
import { stripeFor } from "./stripe.ts";
import { refundAtWechat } from "./wechat-refund.ts";

export interface ProviderRefund {
  refundRef: string;
  status: string;
  fact: PaymentFact | null;
}

/**
 * The payment to refund: the order's credited one, or another payment of the order an operator picked
 * (a second or mismatched payment), refunded by its own reference and total.
 */
export type RefundTarget = { extra: false } | { extra: true; paymentRef: string; totalMinor: number };

/**
 * Same order (and payment), same refunded-so-far, same amount → same key: a double submit makes one refund
 * at the provider, while a later, deliberate second refund gets a new key.
 */
const refundIdempotencyKey = (
  order: Order,
  target: RefundTarget,
  amountMinor: number | null,
  refundedMinor: number,
) =>
  `payguard-refund:${order.id}:${target.extra ? `${target.paymentRef}:` : ""}${refundedMinor}:${amountMinor ?? "rest"}`;

async function refundWechatPayment(
  deps: Deps,
  order: Order,
  target: RefundTarget,
  amountMinor: number,
  key: string,
  nowMs: number,
): Promise<Result<ProviderRefund, InfraError>> {
  const made = await refundAtWechat(deps, order, {
    amountMinor,
    outRefundNo: key
      .replace(/^payguard-refund:/, "")
      .replace(/:/g, "-")
      .slice(-64),
    reason: "operator refund",
    payment: target.extra ? { transactionId: target.paymentRef, totalMinor: target.totalMinor } : undefined,
  });
  if (!made.ok) return made;
  const { refundId, status } = made.value;
  // A SUCCESS answer is WeChat's verified word: the same fact its REFUND.SUCCESS notification carries.
  const fact: PaymentFact | null =
    status === "SUCCESS"
      ? {
          kind: "refunded",
          provider: "wechatpay",
          orderId: order.id,
          paymentRef: target.extra ? target.paymentRef : order.paymentRef,
          refundRef: refundId,
          amountMinor: made.value.amountMinor,
          currency: order.currency,
          refundedAtMs: nowMs,
        }
      : null;
  return ok({ refundRef: refundId, status: status.toLowerCase(), fact });
}

export async function refundAtProvider(
  deps: Deps,
  order: Order,
  amountMinor: number | null,
  refundedMinor: number,
  nowMs: number,
  target: RefundTarget = { extra: false },
): Promise<Result<ProviderRefund, InfraError>> {
  const key = refundIdempotencyKey(order, target, amountMinor, refundedMinor);
  if (order.provider === "wechatpay") {
    const totalMinor = target.extra ? target.totalMinor : order.amountMinor;
    return refundWechatPayment(deps, order, target, amountMinor ?? totalMinor - refundedMinor, key, nowMs);
  }
  const stripe = stripeFor(deps);
  const paymentRef = target.extra ? target.paymentRef : (order.paymentRef ?? order.providerRef);
  if (!stripe || !paymentRef)
    return err({ kind: "permanent", code: "no_payment", message: "no Stripe payment to refund" });
  const made = await stripe.createRefund({ paymentRef, amountMinor, idempotencyKey: key });
  if (!made.ok) return made;
  const refund = made.value;
  const plan = planStripeEvent({
    id: `refund:${refund.id}`,
    type: "refund.created",
    created: Math.floor(nowMs / 1000),
    data: { object: refund },
  });
  const draft = plan.action === "settle" ? plan.facts[0] : undefined;
  return ok({
    refundRef: refund.id,
    status: refund.status ?? "unknown",
    fact: draft ? ({ ...draft, orderId: order.id } as PaymentFact) : null,
  });
}
