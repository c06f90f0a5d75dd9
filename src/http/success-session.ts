/**
 * The success page's Stripe shortcuts: apps put `{CHECKOUT_SESSION_ID}` in their success URL, so the page
 * can name the Checkout Session even when the app created it itself and payguard never stored its id; and
 * after the Payment Element's `confirmPayment` Stripe appends `payment_intent=pi_…` to the app's return
 * URL. The session or intent is retrieved from Stripe (never trusted from the browser) and must belong to
 * this order (`client_reference_id` / `metadata.order_id`) and, when it names one, to this user.
 */
import type Stripe from "stripe";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order, PaymentFact } from "../ledger/types.ts";
import {
  createStripeClient,
  intentFact,
  retrieveIntent,
  retrieveSession,
  sessionFact,
  toInfraError,
} from "../providers/stripe/client.ts";
import type { FactDraft } from "../providers/stripe/normalise.ts";
import type { StripeConfig } from "../providers/stripe/settings.ts";

export const STRIPE_SESSION_ID_PATTERN = /^cs_[A-Za-z0-9_]{8,255}$/;
export const STRIPE_PAYMENT_INTENT_ID_PATTERN = /^pi_[A-Za-z0-9_]{8,255}$/;

/** What the page names: a Checkout Session (`session_id`) or a PaymentIntent (`payment_intent`). */
export type StripeObjectRef = { kind: "session" | "payment_intent"; id: string };

/** `foreign`: the object does not exist or is not this user's for this order. */
export type SessionAnswer = { kind: "fact"; fact: PaymentFact } | { kind: "foreign" };

const HTTP_NOT_FOUND = 404;

interface Claims {
  orderRefs: Array<string | null | undefined>;
  userId: string | undefined;
}

function belongsTo(claims: Claims, order: Order, userId: string): boolean {
  const refs = claims.orderRefs.filter(Boolean);
  const userMatches = !claims.userId || claims.userId.toLowerCase() === userId.toLowerCase();
  return refs.length > 0 && refs.every((ref) => ref === order.id) && userMatches;
}

/** What the page may settle from an object it was handed: a payment, or one still in flight. */
const PAGE_FACT_KINDS = new Set(["paid", "awaiting_payment"]);

/**
 * What the object means, read as reconcile reads it (the payment dated by Stripe's own time). Its
 * expiry or failure is left to the order's stored session or intent: this one may not be the order's.
 */
function factOf(draft: FactDraft | null, order: Order): PaymentFact {
  if (!draft || !PAGE_FACT_KINDS.has(draft.kind))
    return { kind: "pending", provider: "stripe", orderId: order.id };
  return { ...draft, orderId: order.id };
}

/** The named object retrieved: the fact it states and who it says it belongs to. */
async function retrieve(stripe: Stripe, ref: StripeObjectRef, nowMs: number) {
  if (ref.kind === "payment_intent") {
    const intent = await retrieveIntent(stripe, ref.id);
    const claims = { orderRefs: [intent.metadata?.order_id], userId: intent.metadata?.user_id };
    return { draft: intentFact(intent), claims };
  }
  const session = await retrieveSession(stripe, ref.id);
  const claims = {
    orderRefs: [session.client_reference_id, session.metadata?.order_id],
    userId: session.metadata?.user_id,
  };
  return { draft: sessionFact(session, nowMs), claims };
}

/** `stripeFetch`: the provider budget's fetch for Stripe (src/budget/budget.ts). */
export async function confirmFromStripeRef(
  config: StripeConfig,
  stripeFetch: typeof fetch,
  order: Order,
  userId: string,
  ref: StripeObjectRef,
  nowMs: number,
): Promise<Result<SessionAnswer, InfraError>> {
  let found: Awaited<ReturnType<typeof retrieve>>;
  try {
    found = await retrieve(createStripeClient(config, stripeFetch), ref, nowMs);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === HTTP_NOT_FOUND) return ok({ kind: "foreign" });
    return err(toInfraError(error));
  }
  if (!belongsTo(found.claims, order, userId)) return ok({ kind: "foreign" });
  return ok({ kind: "fact", fact: factOf(found.draft, order) });
}
