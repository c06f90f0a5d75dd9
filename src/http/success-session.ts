/**
 * The success page's Stripe shortcut: apps put `{CHECKOUT_SESSION_ID}` in their success URL, so the page
 * can name the Checkout Session even when the app created it itself and payguard never stored its id.
 * The session is retrieved from Stripe (never trusted from the browser) and must belong to this order
 * (`client_reference_id` / `metadata.order_id`) and, when it names one, to this user.
 */
import type Stripe from "stripe";
import type { StripeConfig } from "../env.ts";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order, PaymentFact } from "../ledger/types.ts";
import { createStripeClient, toInfraError } from "../providers/stripe/client.ts";
import { planStripeEvent } from "../providers/stripe/normalise.ts";

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

function factOf(session: Stripe.Checkout.Session, order: Order, nowMs: number): PaymentFact {
  const pending: PaymentFact = { kind: "pending", provider: "stripe", orderId: order.id };
  if (session.payment_status !== "paid") return pending;
  // A paid session means what its checkout.session.completed event would mean.
  const plan = planStripeEvent({
    id: "success_page",
    type: "checkout.session.completed",
    created: Math.floor(nowMs / 1000),
    data: { object: session },
  });
  const draft = plan.action === "settle" ? plan.facts[0] : undefined;
  return draft ? { ...draft, orderId: order.id } : pending;
}

export async function confirmFromSession(
  config: StripeConfig,
  order: Order,
  userId: string,
  sessionId: string,
  nowMs: number,
): Promise<Result<SessionAnswer, InfraError>> {
  let session: Stripe.Checkout.Session;
  try {
    session = await createStripeClient(config).checkout.sessions.retrieve(sessionId);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === HTTP_NOT_FOUND) return ok({ kind: "foreign" });
    return err(toInfraError(error));
  }
  if (!belongsTo(session, order, userId)) return ok({ kind: "foreign" });
  return ok({ kind: "fact", fact: factOf(session, order, nowMs) });
}
