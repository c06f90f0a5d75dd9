// Checkout Sessions: create (mode=payment with price_data line items), complete (the customer paid,
// synchronously, by an async method, or nothing under a 100 % promotion code), settle an async payment,
// expire. Each state change emits the event Stripe emits for it.
import type { SandboxResponse } from "../http.ts";
import { invalidParam, stripeError } from "./errors.ts";
import { type EmittedEvent, emitEvent } from "./events.ts";
import { type FormObject, formList, formObject, formString, formStringMap } from "./form.ts";
import { createCharge, newIntent } from "./intents.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";
import type { CheckoutSession, Metadata, PaymentIntent } from "./types.ts";

/** Stripe accepts `expires_at` between 30 minutes and 24 hours ahead; 24 hours is the default. */
export const SESSION_EXPIRY_MIN_S = 30 * 60;
export const SESSION_EXPIRY_MAX_S = 24 * 60 * 60;

export interface NewSession {
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
    customer_details: null,
    customer_email: input.customerEmail,
    expires_at: input.expiresAtS ?? created + SESSION_EXPIRY_MAX_S,
    livemode: false,
    metadata: input.metadata,
    mode: "payment",
    payment_intent: null,
    payment_method_types: ["card"],
    payment_status: "unpaid",
    status: "open",
    success_url: input.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted",
    url: `${context.baseUrl()}/c/pay/${id}`,
  };
  context.state.sessions.set(id, session);
  context.state.intentMetadata.set(id, input.intentMetadata);
  return session;
}

type LineTotal = { amountMinor: number; currency: string } | { param: string; message: string };

function lineItemsTotal(items: ReturnType<typeof formList>): LineTotal {
  if (!items || items.length === 0)
    return { param: "line_items", message: "You must specify `line_items` in `payment` mode." };
  let amountMinor = 0;
  let currency: string | undefined;
  for (const [index, raw] of items.entries()) {
    const item = formObject(raw);
    const priceData = formObject(item?.price_data);
    const param = `line_items[${index}][price_data]`;
    if (!item || !priceData)
      return { param, message: "This sandbox supports line items with `price_data` only." };
    const unitAmount = Number(formString(priceData.unit_amount));
    const quantity = Number(formString(item.quantity) ?? "1");
    const itemCurrency = formString(priceData.currency)?.toLowerCase();
    if (!Number.isSafeInteger(unitAmount) || unitAmount < 0)
      return { param: `${param}[unit_amount]`, message: "Invalid integer" };
    if (!Number.isSafeInteger(quantity) || quantity < 1)
      return { param: `line_items[${index}][quantity]`, message: "Invalid integer" };
    if (!itemCurrency) return { param: `${param}[currency]`, message: "Missing required param: currency." };
    if (currency && currency !== itemCurrency)
      return { param: `${param}[currency]`, message: "All line items must share one currency." };
    currency = itemCurrency;
    amountMinor += unitAmount * quantity;
  }
  return { amountMinor, currency: currency ?? "usd" };
}

/** `POST /v1/checkout/sessions` parameters → a session, or the Stripe error for the first bad one. */
export function createSessionFromForm(
  context: StripeContext,
  form: FormObject,
): SandboxResponse | CheckoutSession {
  const mode = formString(form.mode);
  if (mode === undefined) return invalidParam("mode", "Missing required param: mode.", "parameter_missing");
  if (mode !== "payment")
    return invalidParam("mode", "This sandbox supports `mode=payment` only.", "parameter_invalid");
  const total = lineItemsTotal(formList(form.line_items));
  if ("param" in total) return invalidParam(total.param, total.message, "parameter_invalid");
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
  const intent = newIntent(context, {
    amount: session.amount_total,
    currency: session.currency,
    metadata: { ...(context.state.intentMetadata.get(session.id) ?? {}) },
    description: null,
  });
  intent.status = "processing";
  return intent;
}

/**
 * The customer finished Checkout. A no-cost order (a 100 % promotion code) collects no payment method and
 * has no PaymentIntent: `no_payment_required`. Async methods complete `unpaid` with the intent processing.
 */
export function completeSession(
  context: StripeContext,
  session: CheckoutSession,
  completion: Completion = {},
): EmittedEvent {
  const discount = Math.min(completion.discountMinor ?? 0, session.amount_subtotal);
  session.total_details.amount_discount = discount;
  session.amount_total = session.amount_subtotal - discount;
  session.status = "complete";
  session.url = null;
  session.customer_details = { email: session.customer_email ?? "buyer@example.com", name: "Sandbox Buyer" };
  if (session.amount_total === 0) {
    session.payment_status = "no_payment_required";
    return emitEvent(context, "checkout.session.completed", session);
  }
  const intent = createIntent(context, session);
  if (!completion.async) createCharge(context, intent);
  session.payment_status = completion.async ? "unpaid" : "paid";
  session.payment_intent = intent.id;
  return emitEvent(context, "checkout.session.completed", session);
}

export function settleAsyncPayment(
  context: StripeContext,
  session: CheckoutSession,
  outcome: "succeeded" | "failed",
): EmittedEvent {
  const intent = session.payment_intent
    ? context.state.paymentIntents.get(session.payment_intent)
    : undefined;
  if (!intent) throw new Error(`session ${session.id} has no payment intent to settle`);
  if (outcome === "succeeded") {
    createCharge(context, intent);
    session.payment_status = "paid";
    return emitEvent(context, "checkout.session.async_payment_succeeded", session);
  }
  intent.status = "requires_payment_method";
  return emitEvent(context, "checkout.session.async_payment_failed", session);
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
