/**
 * Stripe API access for payguard: the official client over fetch, pointed at api.stripe.com or at a
 * sandbox (`STRIPE_API_BASE`). Exposed to the core only as `ProviderApi`: "what is the truth about
 * this order" and "close it", for an order opened as a Checkout Session (`cs_…`) or as a PaymentIntent
 * payguard created for the Payment Element (`pi_…`).
 */
import Stripe from "stripe";
import type { ProviderApi } from "../../ledger/ports.ts";
import { err, type InfraError, ok } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import { planStripeEvent } from "./normalise.ts";
import type { StripeConfig } from "./settings.ts";

export const STRIPE_REQUEST_TIMEOUT_MS = 10_000;
/** Retries are the caller's job (the next reconcile tick), so a slow Stripe never stacks requests. */
const STRIPE_NETWORK_RETRIES_MAX = 0;

/**
 * `fetch` is what every request goes through: a provider budget's (src/budget/budget.ts) everywhere but
 * checkout, which a customer waits on and the per-user limits bound.
 */
export function createStripeClient(config: StripeConfig, fetch: typeof globalThis.fetch): Stripe {
  const base = config.apiBase ? new URL(config.apiBase) : null;
  return new Stripe(config.secretKey, {
    httpClient: Stripe.createFetchHttpClient(fetch),
    timeout: STRIPE_REQUEST_TIMEOUT_MS,
    maxNetworkRetries: STRIPE_NETWORK_RETRIES_MAX,
    ...(base && {
      host: base.hostname,
      port: Number(base.port || (base.protocol === "https:" ? 443 : 80)),
      protocol: base.protocol === "https:" ? "https" : "http",
    }),
  });
}

/** Stripe's failure as an InfraError, keeping the HTTP status and Retry-After the callers read. */
export function toInfraError(error: unknown): InfraError & { status: number; retryAfterS?: number } {
  const status = (error as { statusCode?: number }).statusCode ?? 0;
  const code = (error as { code?: string }).code ?? (error as { type?: string }).type ?? "stripe_error";
  const transient = status === 0 || status === 429 || status >= 500;
  const retryAfter = Number((error as { headers?: Record<string, string> }).headers?.["retry-after"]);
  return {
    kind: transient ? "transient" : "permanent",
    code,
    message: (error as Error).message,
    status,
    ...(Number.isFinite(retryAfter) && { retryAfterS: retryAfter }),
  };
}

/**
 * What `sessionFact` reads beyond the session, in the same call: its PaymentIntent (state and time of the
 * payment) and that intent's latest charge (when the payment was made).
 */
export const SESSION_EXPAND = ["payment_intent.latest_charge"];

export const retrieveSession = (stripe: Stripe, sessionId: string) =>
  stripe.checkout.sessions.retrieve(sessionId, { expand: SESSION_EXPAND });

const expanded = <T extends { id: string }>(value: string | T | null | undefined): T | null =>
  typeof value === "object" && value !== null ? value : null;

/** PaymentIntent states after which an async payment will not succeed any more. */
const INTENT_FAILED_STATES = new Set(["requires_payment_method", "canceled"]);

/** The event Stripe emitted (or will) for the state a retrieved session is in; null while it is open. */
function eventTypeOf(session: Stripe.Checkout.Session): string | null {
  if (session.status === "expired") return "checkout.session.expired";
  if (session.status !== "complete") return null;
  // Complete and unpaid: an async method in flight, until its PaymentIntent says it failed.
  const intent = expanded(session.payment_intent);
  if (session.payment_status === "unpaid" && intent && INTENT_FAILED_STATES.has(intent.status))
    return "checkout.session.async_payment_failed";
  return "checkout.session.completed";
}

/**
 * When Stripe took the payment: its latest charge, else its PaymentIntent. Null when the answer carries
 * neither (a session that needed no payment has no intent; a session listed without the expansion).
 */
function paymentCreatedS(session: Stripe.Checkout.Session): number | null {
  const intent = expanded(session.payment_intent);
  return expanded(intent?.latest_charge)?.created ?? intent?.created ?? null;
}

/**
 * What a retrieved Checkout Session means, through the webhook's own normaliser: the fact the matching
 * event would carry (paid, awaiting an async payment, failed, expired), or null while the session is
 * open. Dated like that event, by the payment's own time, so which of two payments is kept never depends
 * on the path that saw it; `nowMs` only when Stripe's answer carries no time for the payment.
 */
export function sessionFact(session: Stripe.Checkout.Session, nowMs: number) {
  const type = eventTypeOf(session);
  if (!type) return null;
  const created = paymentCreatedS(session) ?? Math.floor(nowMs / 1000);
  const plan = planStripeEvent({ id: "retrieved", type, created, data: { object: session } });
  return plan.action === "settle" ? (plan.facts[0] ?? null) : null;
}

/** An order's provider_ref names a PaymentIntent payguard created (the Payment Element flow). */
export const isPaymentIntentRef = (ref: string): boolean => ref.startsWith("pi_");

/** What `intentFact` reads beyond the intent, in the same call: its latest charge (when it was paid). */
export const INTENT_EXPAND = ["latest_charge"];

export const retrieveIntent = (stripe: Stripe, intentId: string) =>
  stripe.paymentIntents.retrieve(intentId, { expand: INTENT_EXPAND });

/** The event Stripe emitted for the state a retrieved intent is in; null while it awaits the customer. */
const INTENT_EVENT_TYPES: Partial<Record<Stripe.PaymentIntent.Status, string>> = {
  succeeded: "payment_intent.succeeded",
  processing: "payment_intent.processing",
  canceled: "payment_intent.canceled",
};

/**
 * What a retrieved PaymentIntent means, through the webhook's own normaliser (so an intent a Checkout
 * Session created means nothing here either): paid, an async payment in flight, or canceled; null while it
 * awaits a payment method, a confirmation or an action. Dated like sessionFact: by its latest charge (when
 * the payment was made, or an async one began), else by the intent.
 */
export function intentFact(intent: Stripe.PaymentIntent) {
  const type = INTENT_EVENT_TYPES[intent.status];
  if (!type) return null;
  const created = expanded(intent.latest_charge)?.created ?? intent.created;
  const plan = planStripeEvent({ id: "retrieved", type, created, data: { object: intent } });
  return plan.action === "settle" ? (plan.facts[0] ?? null) : null;
}

/** The order's provider object, retrieved, as the fact its event would carry (null: nothing decided yet). */
async function providerRefFact(stripe: Stripe, providerRef: string, nowMs: number) {
  if (isPaymentIntentRef(providerRef)) return intentFact(await retrieveIntent(stripe, providerRef));
  return sessionFact(await retrieveSession(stripe, providerRef), nowMs);
}

export function createStripeProviderApi(stripe: Stripe): ProviderApi {
  return {
    provider: "stripe",
    async queryOrder(order: Order, nowMs: number) {
      if (!order.providerRef) return ok({ kind: "pending", provider: "stripe", orderId: order.id });
      try {
        const draft = await providerRefFact(stripe, order.providerRef, nowMs);
        return ok(
          draft
            ? { ...draft, orderId: order.id }
            : { kind: "pending", provider: "stripe", orderId: order.id },
        );
      } catch (error) {
        return err(toInfraError(error));
      }
    },
    /**
     * Only an open session can be expired: Stripe refuses a complete one (paid, or an async payment in
     * flight) with 400 checkout_session_not_open. Likewise an intent can be canceled only while unpaid:
     * one that succeeded, and mostly one processing an async payment, is refused with 400
     * payment_intent_unexpected_state. Both are permanent refusals the reconcile answers with queryOrder,
     * whose paid / awaiting_payment fact keeps the order from expiring here.
     */
    async closeOrder(order: Order) {
      if (!order.providerRef) return ok(undefined);
      try {
        if (isPaymentIntentRef(order.providerRef))
          await stripe.paymentIntents.cancel(order.providerRef, { cancellation_reason: "abandoned" });
        else await stripe.checkout.sessions.expire(order.providerRef);
        return ok(undefined);
      } catch (error) {
        return err(toInfraError(error));
      }
    },
  };
}
