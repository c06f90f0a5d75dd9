// Checkout Sessions: create (mode=payment with `price_data` or one-time `price` line items;
// mode=subscription in checkout-subscription.ts), complete (the customer paid, synchronously, by an
// async method, or nothing under a 100 % promotion code), settle an async payment, expire. Each state
// change emits the events Stripe emits for it, the session's PaymentIntent and Charge included: paid at
// once, `payment_intent.created`, `charge.succeeded`, `payment_intent.succeeded`, then
// `checkout.session.completed`; by an async method, `payment_intent.created`, `payment_intent.processing`,
// `checkout.session.completed` (unpaid), and later `charge.succeeded`, `payment_intent.succeeded`,
// `checkout.session.async_payment_succeeded` (or `payment_intent.payment_failed`,
// `checkout.session.async_payment_failed`).
import type { SandboxResponse } from "../http.ts";
import { completeSubscriptionSession, subscriptionSessionInput } from "./checkout-subscription.ts";
import { invalidParam, stripeError } from "./errors.ts";
import { type EmittedEvent, emitEvent, ofPayment } from "./events.ts";
import { type FormObject, formList, formObject, formString, formStringMap } from "./form.ts";
import { createCharge, newIntent } from "./intents.ts";
import { newId, nowSeconds, type SessionPlan, type StripeContext } from "./state.ts";
import type { CheckoutSession, Metadata, PaymentIntent } from "./types.ts";

/** Stripe accepts `expires_at` between 30 minutes and 24 hours ahead; 24 hours is the default. */
export const SESSION_EXPIRY_MIN_S = 30 * 60;
export const SESSION_EXPIRY_MAX_S = 24 * 60 * 60;

export interface NewSession {
  mode?: CheckoutSession["mode"];
  /** What a subscription-mode session subscribes to. */
  plan?: SessionPlan;
  amountMinor: number;
  /** lower-case, as on Stripe's wire */
  currency: string;
  clientReferenceId: string | null;
  metadata: Metadata;
  intentMetadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  customerEmail: string | null;
  expiresAtS?: number;
}

export function createSession(context: StripeContext, input: NewSession): CheckoutSession {
  const created = nowSeconds(context);
  const id = newId(context, "cs_test_");
  const session: CheckoutSession = {
    id,
    object: "checkout.session",
    amount_subtotal: input.amountMinor,
    amount_total: input.amountMinor,
    cancel_url: input.cancelUrl,
    client_reference_id: input.clientReferenceId,
    created,
    currency: input.currency,
    customer: null,
    customer_details: null,
    customer_email: input.customerEmail,
    expires_at: input.expiresAtS ?? created + SESSION_EXPIRY_MAX_S,
    invoice: null,
    livemode: false,
    metadata: input.metadata,
    mode: input.mode ?? "payment",
    payment_intent: null,
    payment_method_types: ["card"],
    payment_status: "unpaid",
    status: "open",
    subscription: null,
    success_url: input.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted",
    url: `${context.baseUrl()}/c/pay/${id}`,
  };
  context.state.sessions.set(id, session);
  context.state.intentMetadata.set(id, input.intentMetadata);
  if (input.plan) context.state.sessionPlans.set(id, input.plan);
  return session;
}

type LineTotal = { amountMinor: number; currency: string } | { param: string; message: string };

/** One payment-mode line: `price_data`, or a one-time `price`. */
function lineAmount(
  context: StripeContext,
  item: FormObject,
  index: number,
): { unitAmount: number; currency: string | undefined } | { param: string; message: string } {
  const priceId = formString(item.price);
  if (priceId !== undefined) {
    const price = context.state.prices.get(priceId);
    const param = `line_items[${index}][price]`;
    if (!price) return { param, message: `No such price: '${priceId}'` };
    if (price.recurring)
      return { param, message: "You must use `subscription` mode for a recurring price in `line_items`." };
    return { unitAmount: price.unit_amount, currency: price.currency };
  }
  const priceData = formObject(item.price_data);
  const param = `line_items[${index}][price_data]`;
  if (!priceData)
    return { param, message: "This sandbox supports line items with `price_data` or `price` only." };
  const unitAmount = Number(formString(priceData.unit_amount));
  if (!Number.isSafeInteger(unitAmount) || unitAmount < 0)
    return { param: `${param}[unit_amount]`, message: "Invalid integer" };
  const currency = formString(priceData.currency)?.toLowerCase();
  if (!currency) return { param: `${param}[currency]`, message: "Missing required param: currency." };
  return { unitAmount, currency };
}

function lineItemsTotal(context: StripeContext, items: ReturnType<typeof formList>): LineTotal {
  if (!items || items.length === 0)
    return { param: "line_items", message: "You must specify `line_items` in `payment` mode." };
  let amountMinor = 0;
  let currency: string | undefined;
  for (const [index, raw] of items.entries()) {
    const item = formObject(raw);
    if (!item) return { param: `line_items[${index}]`, message: "Invalid line item" };
    const line = lineAmount(context, item, index);
    if ("param" in line) return line;
    const quantity = Number(formString(item.quantity) ?? "1");
    if (!Number.isSafeInteger(quantity) || quantity < 1)
      return { param: `line_items[${index}][quantity]`, message: "Invalid integer" };
    if (currency && currency !== line.currency)
      return { param: `line_items[${index}]`, message: "All line items must share one currency." };
    currency = line.currency;
    amountMinor += line.unitAmount * quantity;
  }
  return { amountMinor, currency: currency ?? "usd" };
}

type Terms = { amountMinor: number; currency: string; plan?: SessionPlan };

function sessionTerms(
  context: StripeContext,
  form: FormObject,
  mode: CheckoutSession["mode"],
): Terms | { param: string; message: string; code?: string } {
  return mode === "subscription"
    ? subscriptionSessionInput(context, form)
    : lineItemsTotal(context, formList(form.line_items));
}

/** `POST /v1/checkout/sessions` parameters → a session, or the Stripe error for the first bad one. */
export function createSessionFromForm(
  context: StripeContext,
  form: FormObject,
): SandboxResponse | CheckoutSession {
  const mode = formString(form.mode);
  if (mode === undefined) return invalidParam("mode", "Missing required param: mode.", "parameter_missing");
  if (mode !== "payment" && mode !== "subscription")
    return invalidParam(
      "mode",
      "This sandbox supports `mode=payment` and `mode=subscription`.",
      "parameter_invalid",
    );
  const total = sessionTerms(context, form, mode);
  if ("param" in total) return invalidParam(total.param, total.message, total.code ?? "parameter_invalid");
  const nowS = nowSeconds(context);
  const expiresRaw = formString(form.expires_at);
  const expiresAtS = expiresRaw === undefined ? undefined : Number(expiresRaw);
  if (
    expiresAtS !== undefined &&
    (!Number.isInteger(expiresAtS) ||
      expiresAtS < nowS + SESSION_EXPIRY_MIN_S ||
      expiresAtS > nowS + SESSION_EXPIRY_MAX_S)
  ) {
    return invalidParam(
      "expires_at",
      "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
      "parameter_invalid",
    );
  }
  const intentData = formObject(form.payment_intent_data);
  return createSession(context, {
    mode,
    plan: total.plan,
    amountMinor: total.amountMinor,
    currency: total.currency,
    clientReferenceId: formString(form.client_reference_id) ?? null,
    metadata: formStringMap(form.metadata),
    intentMetadata: formStringMap(intentData?.metadata),
    successUrl: formString(form.success_url) ?? null,
    cancelUrl: formString(form.cancel_url) ?? null,
    customerEmail: formString(form.customer_email) ?? null,
    expiresAtS,
  });
}

export interface Completion {
  /** An async method (a bank debit): the session completes unpaid and settles later (settleAsyncPayment). */
  async?: boolean;
  /** What a promotion code the customer entered takes off, at most the subtotal (100 %: a no-cost order). */
  discountMinor?: number;
}

/** The PaymentIntent Checkout creates when the customer confirms: `created` is the moment they paid. */
function createIntent(context: StripeContext, session: CheckoutSession): PaymentIntent {
  return newIntent(context, {
    amount: session.amount_total,
    currency: session.currency,
    metadata: { ...(context.state.intentMetadata.get(session.id) ?? {}) },
    description: null,
  });
}

/** The intent is paid: its charge, then the intent's success, both about the payment under the session. */
function payIntent(context: StripeContext, intent: PaymentIntent): EmittedEvent[] {
  const charge = createCharge(context, intent);
  return [
    ofPayment(emitEvent(context, "charge.succeeded", charge)),
    ofPayment(emitEvent(context, "payment_intent.succeeded", intent)),
  ];
}

/**
 * The customer finished Checkout. A no-cost order (a 100 % promotion code) collects no payment method and
 * has no PaymentIntent: `no_payment_required`. Async methods complete `unpaid` with the intent processing.
 * The events in the order Stripe creates them.
 */
export function completeSession(
  context: StripeContext,
  session: CheckoutSession,
  completion: Completion = {},
): EmittedEvent[] {
  session.status = "complete";
  session.url = null;
  session.customer_details = { email: session.customer_email ?? "buyer@example.com", name: "Sandbox Buyer" };
  if (session.mode === "subscription") return completeSubscriptionSession(context, session);
  const discount = Math.min(completion.discountMinor ?? 0, session.amount_subtotal);
  session.total_details.amount_discount = discount;
  session.amount_total = session.amount_subtotal - discount;
  if (session.amount_total === 0) {
    session.payment_status = "no_payment_required";
    return [emitEvent(context, "checkout.session.completed", session)];
  }
  const intent = createIntent(context, session);
  const emitted = [ofPayment(emitEvent(context, "payment_intent.created", intent))];
  if (completion.async) {
    intent.status = "processing";
    emitted.push(ofPayment(emitEvent(context, "payment_intent.processing", intent)));
  } else emitted.push(...payIntent(context, intent));
  session.payment_status = completion.async ? "unpaid" : "paid";
  session.payment_intent = intent.id;
  emitted.push(emitEvent(context, "checkout.session.completed", session));
  return emitted;
}

export function settleAsyncPayment(
  context: StripeContext,
  session: CheckoutSession,
  outcome: "succeeded" | "failed",
): EmittedEvent[] {
  const intent = session.payment_intent
    ? context.state.paymentIntents.get(session.payment_intent)
    : undefined;
  if (!intent) throw new Error(`session ${session.id} has no payment intent to settle`);
  if (outcome === "succeeded") {
    const emitted = payIntent(context, intent);
    session.payment_status = "paid";
    return [...emitted, emitEvent(context, "checkout.session.async_payment_succeeded", session)];
  }
  intent.status = "requires_payment_method";
  return [
    ofPayment(emitEvent(context, "payment_intent.payment_failed", intent)),
    emitEvent(context, "checkout.session.async_payment_failed", session),
  ];
}

export function expireSession(context: StripeContext, session: CheckoutSession): EmittedEvent {
  session.status = "expired";
  session.url = null;
  return emitEvent(context, "checkout.session.expired", session);
}

export function notOpen(session: CheckoutSession): SandboxResponse {
  return stripeError({
    status: 400,
    type: "invalid_request_error",
    code: "checkout_session_not_open",
    message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${session.status}\`.`,
  });
}

/** Sessions still open after `expires_at` expire by themselves, as on Stripe. */
export function expireDueSessions(context: StripeContext): EmittedEvent[] {
  const nowS = nowSeconds(context);
  const due = [...context.state.sessions.values()].filter((s) => s.status === "open" && s.expires_at <= nowS);
  return due.map((session) => expireSession(context, session));
}
