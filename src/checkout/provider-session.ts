/**
 * Creates the provider side of a checkout from configuration: a Stripe Checkout Session, a Stripe
 * PaymentIntent (`flow: "payment_intent"`, stored as the order's provider_ref like a session), or a WeChat
 * Pay prepay (Native `code_url`, or JSAPI `prepay_id` turned into signed `requestPayment` parameters).
 * WeChat's notify URL is always the configured public one, never something the request supplies.
 */
import type Stripe from "stripe";
import type { Deps } from "../deps.ts";
import { ok } from "../ledger/result.ts";
import { createCheckoutSession } from "../providers/stripe/checkout-session.ts";
import { createStripeClient } from "../providers/stripe/client.ts";
import { createPaymentIntent } from "../providers/stripe/payment-intent.ts";
import { signRequestPayment } from "../providers/wechatpay/jsapi-sign.ts";
import { createPrepay } from "../providers/wechatpay/prepay.ts";
import type { CreateSession } from "./checkout.ts";
import type { CheckoutConfig } from "./settings.ts";

const stripeClients = new WeakMap<object, Stripe>();

/** The Stripe client of checkouts (one-off and subscribe), or null without Stripe. */
export function stripeForCheckout(deps: Deps): Stripe | null {
  if (!deps.config.stripe) return null;
  const cached = stripeClients.get(deps.config.stripe);
  if (cached) return cached;
  // Not through the provider budget (src/budget/): a customer is waiting to pay; per-user limits bound it.
  const client = createStripeClient(deps.config.stripe, (input, init) => fetch(input, init));
  stripeClients.set(deps.config.stripe, client);
  return client;
}

export const wechatNotifyUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/webhooks/wechatpay`;

export function providerSessions(deps: Deps, checkout: CheckoutConfig): CreateSession {
  return async (order, packageName, request, nowMs) => {
    if (request.provider === "stripe" && request.flow === "payment_intent") {
      const stripe = stripeForCheckout(deps);
      if (!stripe) throw new Error("stripe payment intent requested but not configured");
      const intent = await createPaymentIntent(stripe, order, packageName);
      if (!intent.ok) return intent;
      const { paymentIntentId, clientSecret } = intent.value;
      return ok({
        providerRef: paymentIntentId,
        answer: { orderId: order.id, paymentIntentId, clientSecret },
      });
    }
    if (request.provider === "stripe") {
      const stripe = stripeForCheckout(deps);
      if (!stripe || !checkout.stripe) throw new Error("stripe checkout requested but not configured");
      const session = await createCheckoutSession(
        stripe,
        { order, productName: packageName, settings: checkout.stripe },
        nowMs,
      );
      if (!session.ok) return session;
      return ok({
        providerRef: session.value.sessionId,
        answer: { orderId: order.id, url: session.value.url },
      });
    }
    const wechat = deps.config.wechat;
    if (!wechat) throw new Error("wechatpay checkout requested but not configured");
    const trade =
      request.tradeType === "jsapi"
        ? { tradeType: "jsapi" as const, openid: request.openid }
        : { tradeType: "native" as const };
    const prepay = await createPrepay(
      wechat,
      { fetch: (input, init) => fetch(input, init), clock: () => nowMs },
      { order, description: packageName, notifyUrl: wechatNotifyUrl(deps.config.publicBaseUrl), trade },
    );
    if (!prepay.ok) return prepay;
    if ("codeUrl" in prepay.value)
      return ok({ providerRef: null, answer: { orderId: order.id, codeUrl: prepay.value.codeUrl } });
    const payParams = await signRequestPayment(
      {
        appId: wechat.appid,
        prepayId: prepay.value.prepayId,
        merchantPrivateKeyPem: wechat.merchantPrivateKeyPem,
      },
      nowMs,
    );
    return ok({ providerRef: null, answer: { orderId: order.id, payParams: { ...payParams } } });
  };
}
