/**
 * Stripe API access for payguard: the official client over fetch, pointed at api.stripe.com or at a
 * sandbox (`STRIPE_API_BASE`). Exposed to the core only as `ProviderApi`: "what is the truth about
 * this order" and "close it".
 */
import Stripe from "stripe";
import type { StripeConfig } from "../../env.ts";
import type { ProviderApi } from "../../ledger/ports.ts";
import { err, type InfraError, ok } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import { planStripeEvent } from "./normalise.ts";

export const STRIPE_REQUEST_TIMEOUT_MS = 10_000;
/** Retries are the caller's job (the next reconcile tick), so a slow Stripe never stacks requests. */
const STRIPE_NETWORK_RETRIES_MAX = 0;

export function createStripeClient(config: StripeConfig): Stripe {
  const base = config.apiBase ? new URL(config.apiBase) : null;
  return new Stripe(config.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    timeout: STRIPE_REQUEST_TIMEOUT_MS,
    maxNetworkRetries: STRIPE_NETWORK_RETRIES_MAX,
    ...(base && {
      host: base.hostname,
      port: Number(base.port || (base.protocol === "https:" ? 443 : 80)),
      protocol: base.protocol === "https:" ? "https" : "http",
    }),
  });
}

/** Stripe's failure as an InfraError, keeping the HTTP status and Retry-After the reconcile limiter reads. */
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
 * What a retrieved Checkout Session means, through the webhook's own normaliser: the fact the matching
 * event would carry (paid, or expired), or null while the session is open and unpaid.
 */
export function sessionFact(session: Stripe.Checkout.Session, nowMs: number) {
  const type =
    session.status === "expired"
      ? "checkout.session.expired"
      : session.payment_status === "paid"
        ? "checkout.session.completed"
        : null;
  if (!type) return null;
  const created = Math.floor(nowMs / 1000);
  const plan = planStripeEvent({ id: "retrieved", type, created, data: { object: session } });
  return plan.action === "settle" ? (plan.facts[0] ?? null) : null;
}

export function createStripeProviderApi(stripe: Stripe): ProviderApi {
  return {
    provider: "stripe",
    async queryOrder(order: Order, nowMs: number) {
      if (!order.providerRef) return ok({ kind: "pending", provider: "stripe", orderId: order.id });
      try {
        const session = await stripe.checkout.sessions.retrieve(order.providerRef);
        const draft = sessionFact(session, nowMs);
        return ok(
          draft
            ? { ...draft, orderId: order.id }
            : { kind: "pending", provider: "stripe", orderId: order.id },
        );
      } catch (error) {
        return err(toInfraError(error));
      }
    },
    async closeOrder(order: Order) {
      if (!order.providerRef) return ok(undefined);
      try {
        await stripe.checkout.sessions.expire(order.providerRef);
        return ok(undefined);
      } catch (error) {
        return err(toInfraError(error));
      }
    },
  };
}
