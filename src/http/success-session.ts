/**
 * The success page's Stripe shortcut: apps put `{CHECKOUT_SESSION_ID}` in their success URL, so the page
 * can name the Checkout Session even when the app created it itself and payguard never stored its id.
 * The session is retrieved from Stripe (never trusted from the browser) and must belong to this order
 * (`client_reference_id` / `metadata.order_id`) and, when it names one, to this user.
 */
import type Stripe from "stripe";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order, PaymentFact } from "../ledger/types.ts";
import {
  createStripeClient,
  retrieveSession,
  sessionFact,
  toInfraError,
} from "../providers/stripe/client.ts";
import type { StripeConfig } from "../providers/stripe/settings.ts";

export const STRIPE_SESSION_ID_PATTERN = /^cs_[A-Za-z0-9_]{8,255}$/;

/** `foreign`: the session does not exist or is not this user's session for this order. */
export type SessionAnswer = { kind: "fact"; fact: PaymentFact } | { kind: "foreign" };

const HTTP_NOT_FOUND = 404;

function belongsTo(session: Stripe.Checkout.Session, order: Order, userId: string): boolean {
  const refs = [session.client_reference_id, session.metadata?.order_id].filter(Boolean);
  const sessionUser = session.metadata?.user_id;
  const userMatches = !sessionUser || sessionUser.toLowerCase() === userId.toLowerCase();
  return refs.length > 0 && refs.every((ref) => ref === order.id) && userMatches;
}

/** What the page may settle from a session it was handed: a payment, or one still in flight. */
const PAGE_FACT_KINDS = new Set(["paid", "awaiting_payment"]);

/**
 * What the session means, read as reconcile reads it (the payment dated by Stripe's own time). Its
 * expiry or failure is left to the order's stored session: this one may not be the order's only session.
 */
function factOf(session: Stripe.Checkout.Session, order: Order, nowMs: number): PaymentFact {
  const draft = sessionFact(session, nowMs);
  if (!draft || !PAGE_FACT_KINDS.has(draft.kind))
    return { kind: "pending", provider: "stripe", orderId: order.id };
  return { ...draft, orderId: order.id };
}

/** `stripeFetch`: the provider budget's fetch for Stripe (src/budget/budget.ts). */
export async function confirmFromSession(
  config: StripeConfig,
  stripeFetch: typeof fetch,
  order: Order,
  userId: string,
  sessionId: string,
  nowMs: number,
): Promise<Result<SessionAnswer, InfraError>> {
  let session: Stripe.Checkout.Session;
  try {
    session = await retrieveSession(createStripeClient(config, stripeFetch), sessionId);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === HTTP_NOT_FOUND) return ok({ kind: "foreign" });
    return err(toInfraError(error));
  }
  if (!belongsTo(session, order, userId)) return ok({ kind: "foreign" });
  return ok({ kind: "fact", fact: factOf(session, order, nowMs) });
}
