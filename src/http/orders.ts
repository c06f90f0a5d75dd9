/**
 * Public order API. `GET /api/orders/:id` is what the success page polls, with the signed-in user's
 * access token: only the order's owner gets an answer (anyone else gets the same 404 as an unknown id).
 * A pending order is re-queried at the provider (the customer's redirect often beats the webhook) at
 * most once per CONFIRM_CHECK_INTERVAL_MIN_MS per order, however often the page polls, and at most
 * CONFIRM_QUERIES_PER_USER_MINUTE_MAX times a minute per user (429 beyond), and settled through its
 * OrderGuard. `?session_id=cs_…` names the Stripe Checkout Session to confirm from, `?payment_intent=pi_…`
 * (what Stripe appends to the Payment Element's return URL) the PaymentIntent. Each query's result
 * (or the failed call's code) is left on the order for the console. The answer carries status and amounts
 * only, never payer data.
 */
import { type Context, Hono } from "hono";
import { requireUser, type UserVariables } from "../auth/require-user.ts";
import { openProviderBudget, PAGE } from "../budget/budget.ts";
import { type Deps, getDeps } from "../deps.ts";
import { settleOrder } from "../guard/settle-order.ts";
import { checkErrorText, checkOutcomeOf } from "../ledger/check-outcome.ts";
import { type InfraError, ok, type Result } from "../ledger/result.ts";
import type { Order } from "../ledger/types.ts";
import { log } from "../log.ts";
import { providerApiFor } from "../providers/registry.ts";
import { failureResponse, storeFailure } from "./errors.ts";
import {
  confirmFromStripeRef,
  type SessionAnswer,
  STRIPE_PAYMENT_INTENT_ID_PATTERN,
  STRIPE_SESSION_ID_PATTERN,
  type StripeObjectRef,
} from "./success-session.ts";

const ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
/** A polling success page causes at most one provider query per order in this window. */
export const CONFIRM_CHECK_INTERVAL_MIN_MS = 10_000;

type OrderContext = Context<{ Bindings: Env; Variables: UserVariables }>;

const publicView = (order: Order) => ({
  id: order.id,
  status: order.status,
  amount_minor: order.amountMinor,
  currency: order.currency,
  credits: order.credits,
});

const notFound = (c: OrderContext, orderId: string) =>
  failureResponse(c, { kind: "not_found", detail: `order ${orderId}` });

/** The user's provider queries of this minute are used up (src/checkout/limits.ts): 429, nothing queried. */
function rateLimited(c: OrderContext, retryAfterS: number): Response {
  log("warn", "confirm_rate_limited", { retry_after_s: retryAfterS });
  c.header("retry-after", String(retryAfterS));
  return c.json(
    {
      error: "confirm_rate_limit",
      message: "too many payment checks for this account in the last minute; retry later",
      retryAfterS,
    },
    429,
  );
}

type NamedRef = { ok: true; ref: StripeObjectRef | null } | { ok: false; detail: string };

/** The query parameter that names each kind of Stripe object. */
const REF_PARAM: Record<StripeObjectRef["kind"], string> = {
  session: "session_id",
  payment_intent: "payment_intent",
};

/**
 * The Stripe object the page names, if any: `session_id` (a Checkout Session) or `payment_intent` (a
 * PaymentIntent; Stripe's `payment_intent_client_secret` and `redirect_status` beside it are not read).
 * A malformed id, or both at once, is a bad request.
 */
function stripeRefOf(c: OrderContext): NamedRef {
  const sessionId = c.req.query(REF_PARAM.session);
  const intentId = c.req.query(REF_PARAM.payment_intent);
  if (sessionId !== undefined && intentId !== undefined)
    return { ok: false, detail: "session_id and payment_intent together" };
  if (sessionId !== undefined)
    return STRIPE_SESSION_ID_PATTERN.test(sessionId)
      ? { ok: true, ref: { kind: "session", id: sessionId } }
      : { ok: false, detail: "session_id format" };
  if (intentId !== undefined)
    return STRIPE_PAYMENT_INTENT_ID_PATTERN.test(intentId)
      ? { ok: true, ref: { kind: "payment_intent", id: intentId } }
      : { ok: false, detail: "payment_intent format" };
  return { ok: true, ref: null };
}

/**
 * What the provider says now: by the Checkout Session or PaymentIntent the page names, or by the order's
 * own reference. The query takes its token from the provider budget; a refusal is a transient failure,
 * answered "pending".
 */
async function askProvider(
  deps: Deps,
  order: Order,
  userId: string,
  stripeRef: StripeObjectRef | null,
  nowMs: number,
): Promise<Result<SessionAnswer, InfraError> | null> {
  const budget = openProviderBudget(deps, PAGE);
  if (stripeRef && deps.config.stripe) {
    return confirmFromStripeRef(deps.config.stripe, budget.fetch("stripe"), order, userId, stripeRef, nowMs);
  }
  const api = providerApiFor(deps, order.provider, budget);
  if (!api) return null;
  const fact = await api.queryOrder(order, nowMs);
  return fact.ok ? ok({ kind: "fact", fact: fact.value }) : fact;
}

/** Leaves the check's result on the order for the console (not a reconcile attempt); best effort. */
async function noteConfirmCheck(
  deps: Deps,
  orderId: string,
  answer: Result<SessionAnswer, InfraError>,
  nowMs: number,
) {
  if (!answer.ok) {
    await deps.store.noteCheck({ orderId, nowMs, outcome: "error", error: checkErrorText(answer.error) });
  } else if (answer.value.kind === "fact") {
    await deps.store.noteCheck({ orderId, nowMs, outcome: checkOutcomeOf(answer.value.fact) });
  }
}

export const orderRoutes = new Hono<{ Bindings: Env; Variables: UserVariables }>().get(
  "/:id",
  requireUser,
  async (c) => {
    const orderId = c.req.param("id");
    if (!ORDER_ID_PATTERN.test(orderId))
      return failureResponse(c, { kind: "bad_request", detail: "order id format" });
    const named = stripeRefOf(c);
    if (!named.ok) return failureResponse(c, { kind: "bad_request", detail: named.detail });
    const deps = getDeps(c.env);
    const found = await deps.store.getOrder(orderId);
    if (!found.ok) return failureResponse(c, storeFailure(found.error));
    const order = found.value;
    if (!order || order.userId.toLowerCase() !== c.var.userId.toLowerCase()) return notFound(c, orderId);
    if (named.ref && order.provider !== "stripe")
      return failureResponse(c, {
        kind: "bad_request",
        detail: `${REF_PARAM[named.ref.kind]} on a non-Stripe order`,
      });
    if (order.status !== "pending") return c.json(publicView(order));

    const nowMs = Date.now();
    const claim = await deps.confirmChecks.claim({
      orderId: order.id,
      nowMs,
      minIntervalMs: CONFIRM_CHECK_INTERVAL_MIN_MS,
      userPerMinuteMax: deps.config.checkout.limits.confirmQueriesPerUserMinuteMax,
    });
    if (claim.ok && claim.value.outcome === "rate_limited") return rateLimited(c, claim.value.retryAfterS);
    // Throttled, or the claim could not be stored: answer with what we know, the page polls again.
    if (!claim.ok || claim.value.outcome !== "claimed") return c.json(publicView(order));
    const fresh = await askProvider(deps, order, c.var.userId, named.ref, nowMs);
    if (fresh?.ok && fresh.value.kind === "foreign") return notFound(c, orderId);
    if (fresh) await noteConfirmCheck(deps, order.id, fresh, nowMs);
    // A provider hiccup must not break the success page: answer with what we know, the cron retries.
    if (!fresh?.ok || fresh.value.kind !== "fact" || fresh.value.fact.kind === "pending")
      return c.json(publicView(order));
    const settled = await settleOrder(c.env, fresh.value.fact, "confirm", nowMs);
    if (!settled.ok) return c.json(publicView(order));
    const after = await deps.store.getOrder(orderId);
    return c.json(publicView(after.ok && after.value ? after.value : order));
  },
);
