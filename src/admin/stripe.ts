/**
 * The two Stripe calls only the console makes: retrieve an event by id (to replay it; payguard keeps no
 * payloads) and create a refund. Both use our secret key, so what comes back is trusted provider data.
 * Every request takes its token from the provider budget (the caller's, else one of its own).
 */
import type Stripe from "stripe";
import { ONE_AT_A_TIME, openProviderBudget, type ProviderBudget } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import { createStripeClient, toInfraError } from "../providers/stripe/client.ts";
import type { StripeEventInput } from "../providers/stripe/normalise.ts";

export interface ConsoleStripe {
  retrieveEvent(
    eventId: string,
  ): Promise<{ ok: true; event: StripeEventInput } | { ok: false; missing: boolean; message: string }>;
  /** Refund part or all of a payment: a PaymentIntent id, or the Checkout Session that carries one. */
  createRefund(input: {
    paymentRef: string;
    amountMinor: number | null;
    idempotencyKey: string;
  }): Promise<Result<Stripe.Refund, InfraError>>;
}

const built = new WeakMap<ProviderBudget, ConsoleStripe>();

export function stripeFor(
  deps: Deps,
  budget: ProviderBudget = openProviderBudget(deps, ONE_AT_A_TIME),
): ConsoleStripe | null {
  if (!deps.config.stripe) return null;
  const cached = built.get(budget);
  if (cached) return cached;
  const stripe = createStripeClient(deps.config.stripe, budget.fetch("stripe"));
  const api: ConsoleStripe = {
    async retrieveEvent(eventId) {
      try {
        const event = await stripe.events.retrieve(eventId);
        return {
          ok: true,
          event: {
            id: event.id,
            type: event.type,
            created: event.created,
            data: { object: event.data.object },
          },
        };
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        return { ok: false, missing: status === 404, message: toInfraError(error).message };
      }
    },
    async createRefund({ paymentRef, amountMinor, idempotencyKey }) {
      try {
        const session = paymentRef.startsWith("pi_")
          ? null
          : await stripe.checkout.sessions.retrieve(paymentRef);
        const intent = session
          ? typeof session.payment_intent === "string"
            ? session.payment_intent
            : session.payment_intent?.id
          : paymentRef;
        if (!intent)
          return err({ kind: "permanent", code: "no_payment_intent", message: "session has no payment" });
        const refund = await stripe.refunds.create(
          { payment_intent: intent, ...(amountMinor !== null && { amount: amountMinor }) },
          { idempotencyKey },
        );
        return ok(refund);
      } catch (error) {
        return err(toInfraError(error));
      }
    },
  };
  built.set(budget, api);
  return api;
}
