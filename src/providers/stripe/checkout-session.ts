/**
 * Creates the Stripe Checkout Session for an order payguard wrote first. The session carries the order
 * id (`client_reference_id`, metadata on the session and on its PaymentIntent, so refunds find the order
 * too) and expires with the order. The request's idempotency key is derived from the order id: a retried
 * checkout gets the same session back from Stripe instead of a second one.
 */
import type Stripe from "stripe";
import { err, type InfraError, ok, type Result } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import { toInfraError } from "./client.ts";
import { STRIPE_SESSION_EXPIRY_MAX_S, STRIPE_SESSION_EXPIRY_MIN_S } from "./settings.ts";

export interface StripeCheckoutSettings {
  /** Contains `{CHECKOUT_SESSION_ID}` (Stripe fills it in); `{ORDER_ID}` is filled in by payguard. */
  successUrl: string;
  cancelUrl: string;
  allowPromotionCodes: boolean;
}

export interface SessionRequest {
  order: Order;
  productName: string;
  settings: StripeCheckoutSettings;
}

export const stripeIdempotencyKey = (orderId: string): string => `payguard-checkout-${orderId}`;

const withOrderId = (url: string, orderId: string): string =>
  url.replaceAll("{ORDER_ID}", encodeURIComponent(orderId));

/** Pure: the session parameters for one order. */
export function checkoutSessionParams(request: SessionRequest): Stripe.Checkout.SessionCreateParams {
  const { order, settings } = request;
  const metadata = { order_id: order.id, user_id: order.userId, package_id: order.packageId };
  return {
    mode: "payment",
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: order.currency.toLowerCase(),
          unit_amount: order.amountMinor,
          product_data: { name: request.productName },
        },
      },
    ],
    client_reference_id: order.id,
    metadata,
    payment_intent_data: { metadata },
    expires_at: Math.floor(order.expiresAtMs / 1000),
    success_url: withOrderId(settings.successUrl, order.id),
    cancel_url: withOrderId(settings.cancelUrl, order.id),
    ...(settings.allowPromotionCodes && { allow_promotion_codes: true }),
  };
}

/** An order whose expiry Stripe would refuse (too close or too far): creating a session cannot succeed. */
export function sessionExpiryProblem(order: Order, nowMs: number): string | null {
  const aheadS = Math.floor(order.expiresAtMs / 1000) - Math.floor(nowMs / 1000);
  if (aheadS < STRIPE_SESSION_EXPIRY_MIN_S) return `order expires in ${aheadS} s, under Stripe's 30 minutes`;
  if (aheadS > STRIPE_SESSION_EXPIRY_MAX_S) return `order expires in ${aheadS} s, over Stripe's 24 hours`;
  return null;
}

export async function createCheckoutSession(
  stripe: Stripe,
  request: SessionRequest,
  nowMs: number,
): Promise<Result<{ sessionId: string; url: string }, InfraError>> {
  const problem = sessionExpiryProblem(request.order, nowMs);
  if (problem) return err({ kind: "permanent", code: "session_expiry", message: problem });
  try {
    const session = await stripe.checkout.sessions.create(checkoutSessionParams(request), {
      idempotencyKey: stripeIdempotencyKey(request.order.id),
    });
    if (!session.url)
      return err({ kind: "permanent", code: "no_url", message: `session ${session.id} has no url` });
    return ok({ sessionId: session.id, url: session.url });
  } catch (error) {
    return err(toInfraError(error));
  }
}
