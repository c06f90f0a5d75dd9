/**
 * A subscribe checkout: a Stripe Checkout Session in `mode: subscription` for one plan's price. Whose
 * subscription it is and which plan it is goes into the session's and the subscription's metadata from
 * payguard's server side (the signed-in user, the plan looked up here), never from the client; each paid
 * invoice of the subscription carries that metadata, and grants by it. No order is written here: a
 * subscription's grants are its invoices' (supabase/migrations/20261207000300_payguard_subscriptions.sql).
 */
import type Stripe from "stripe";
import { z } from "zod";
import type { PlanView, SubscriptionStore } from "../db/subscription-store.ts";
import { err, type InfraError, ok, type Result, retryable } from "../ledger/result.ts";
import type { StripeCheckoutSettings } from "../providers/stripe/checkout-session.ts";
import { toInfraError } from "../providers/stripe/client.ts";

export const subscribeBodySchema = z.strictObject({
  planId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  provider: z.literal("stripe"),
});

export type SubscribeRequest = z.infer<typeof subscribeBodySchema>;

export type SubscribeFailure =
  | { kind: "unknown_plan" }
  /** A live subscription to this plan exists: a second would bill the customer twice. */
  | { kind: "already_subscribed" }
  | { kind: "provider_failed"; detail: string; retryable: boolean }
  | { kind: "unavailable"; error: InfraError };

/** Pure: the session for one user and plan. `{ORDER_ID}` in the pages' URLs is left empty: no order exists. */
export function subscriptionSessionParams(
  userId: string,
  plan: PlanView,
  settings: StripeCheckoutSettings,
): Stripe.Checkout.SessionCreateParams {
  const metadata = { user_id: userId, package_id: plan.id };
  return {
    mode: "subscription",
    line_items: [{ price: plan.priceRef, quantity: 1 }],
    metadata,
    subscription_data: { metadata },
    success_url: settings.successUrl.replaceAll("{ORDER_ID}", ""),
    cancel_url: settings.cancelUrl.replaceAll("{ORDER_ID}", ""),
    ...(settings.allowPromotionCodes && { allow_promotion_codes: true }),
  };
}

/**
 * Stripe's idempotency key: a client's Idempotency-Key (scoped to the user) makes a retry get the same
 * session back; without one, every request opens a session of its own, as Stripe does.
 */
const idempotencyKeyFor = (userId: string, key: string | null) =>
  key === null ? undefined : { idempotencyKey: `payguard-subscribe-${userId}-${key}` };

export async function runSubscribe(
  store: SubscriptionStore,
  stripe: Stripe,
  settings: StripeCheckoutSettings,
  input: { userId: string; request: SubscribeRequest; idempotencyKey: string | null },
): Promise<Result<{ sessionId: string; url: string }, SubscribeFailure>> {
  const plan = await store.planForCheckout(input.userId, input.request.planId);
  if (!plan.ok) return err({ kind: "unavailable", error: plan.error });
  if (!plan.value) return err({ kind: "unknown_plan" });
  if (plan.value.subscribed) return err({ kind: "already_subscribed" });
  try {
    const session = await stripe.checkout.sessions.create(
      subscriptionSessionParams(input.userId, plan.value, settings),
      idempotencyKeyFor(input.userId, input.idempotencyKey),
    );
    if (!session.url)
      return err({ kind: "provider_failed", detail: `session ${session.id} has no url`, retryable: false });
    return ok({ sessionId: session.id, url: session.url });
  } catch (error) {
    const failure = toInfraError(error);
    return err({
      kind: "provider_failed",
      detail: `${failure.code}: ${failure.message}`,
      retryable: retryable(failure),
    });
  }
}
