/**
 * Creates the Stripe PaymentIntent for an order payguard wrote first, for apps that take the payment in
 * their own page with the Payment Element instead of Stripe Checkout. Amount and currency come from the
 * order; the metadata (order, user, package, and the flow that tells its events from those of a Checkout
 * Session's intent, src/providers/stripe/intent-plan.ts) is written here, never taken from the client. The
 * idempotency key is derived from the order id: a retried checkout gets the same intent back from Stripe.
 */
import type Stripe from "stripe";
import { err, type InfraError, ok, type Result } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import { toInfraError } from "./client.ts";
import { CHECKOUT_FLOW_KEY, PAYMENT_INTENT_FLOW } from "./intent-plan.ts";

/** Not the Checkout Session's key: Stripe refuses one key for two different requests. */
export const paymentIntentIdempotencyKey = (orderId: string): string => `payguard-payment-intent-${orderId}`;

/** Pure: the intent parameters for one order. */
export function paymentIntentParams(order: Order, description: string): Stripe.PaymentIntentCreateParams {
  return {
    amount: order.amountMinor,
    currency: order.currency.toLowerCase(),
    automatic_payment_methods: { enabled: true },
    description,
    metadata: {
      order_id: order.id,
      user_id: order.userId,
      package_id: order.packageId,
      [CHECKOUT_FLOW_KEY]: PAYMENT_INTENT_FLOW,
    },
  };
}

export async function createPaymentIntent(
  stripe: Stripe,
  order: Order,
  description: string,
): Promise<Result<{ paymentIntentId: string; clientSecret: string }, InfraError>> {
  try {
    const intent = await stripe.paymentIntents.create(paymentIntentParams(order, description), {
      idempotencyKey: paymentIntentIdempotencyKey(order.id),
    });
    if (!intent.client_secret)
      return err({
        kind: "permanent",
        code: "no_client_secret",
        message: `payment intent ${intent.id} has no client_secret`,
      });
    return ok({ paymentIntentId: intent.id, clientSecret: intent.client_secret });
  } catch (error) {
    return err(toInfraError(error));
  }
}
