// `/_control/stripe/*`: Stripe scenario steps. `pay` finds the open Checkout Session of an order (by
// client_reference_id) or creates one, completes it and emits the events; `pay/finish` settles an async
// payment left pending; `payment_intent/confirm` is the customer confirming a PaymentIntent the app
// created (paid, or `outcome: "declined"`); `abandon` leaves it open to expire by itself; `expire`, `refund`,
// `refund/finish`, `refund/fail` and `dispute` (then `dispute/move`) do what a merchant, Stripe or a
// cardholder would, on an order's payment, a PaymentIntent or an invoice's payment. `refunds` and
// `disputes` list every one the sandbox holds, as they stand. Billing steps: control-stripe-billing.ts.
import { badRequest, type ControlBody, type ControlDeps, type ControlRoute, emitting } from "./control.ts";
import { stripeBillingControlRoutes } from "./control-stripe-billing.ts";
import { json } from "./http.ts";
import type { PayInput } from "./stripe/index.ts";
import type { Metadata } from "./stripe/types.ts";

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const int = (value: unknown): number | undefined =>
  Number.isSafeInteger(value) ? (value as number) : undefined;

function metadataOf(value: unknown): Metadata | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, String(entry)]));
}

function payInput(body: ControlBody): PayInput | string {
  const orderId = str(body.orderId);
  if (!orderId) return "orderId is required";
  const async = body.async;
  if (async !== undefined && async !== "succeeded" && async !== "failed" && async !== "pending")
    return 'async must be "succeeded", "failed" or "pending"';
  return {
    orderId,
    sessionId: str(body.sessionId),
    amountMinor: int(body.amountMinor),
    currency: str(body.currency),
    metadata: metadataOf(body.metadata),
    async,
    discountMinor: int(body.discountMinor),
    atExpire: body.atExpire === true,
  };
}

function pay(deps: ControlDeps, body: ControlBody) {
  const input = payInput(body);
  return typeof input === "string" ? badRequest(input) : emitting(deps, body, () => deps.stripe.pay(input));
}

function abandon(deps: ControlDeps, body: ControlBody) {
  const input = payInput(body);
  return typeof input === "string"
    ? badRequest(input)
    : emitting(deps, body, () => deps.stripe.abandon(input));
}

/** Which payment a refund or dispute is about: an order's, a PaymentIntent, or an invoice's. */
const paymentTarget = (body: ControlBody) => ({
  orderId: str(body.orderId),
  paymentIntentId: str(body.paymentIntentId),
  invoiceId: str(body.invoiceId),
});

const TARGET_REQUIRED = "orderId, paymentIntentId or invoiceId is required";

function refund(deps: ControlDeps, body: ControlBody) {
  const target = paymentTarget(body);
  if (!target.orderId && !target.paymentIntentId && !target.invoiceId) return badRequest(TARGET_REQUIRED);
  const status = body.status;
  if (status !== undefined && status !== "succeeded" && status !== "pending")
    return badRequest('status must be "succeeded" or "pending"');
  return emitting(deps, body, () =>
    deps.stripe.refund({ ...target, amountMinor: int(body.amountMinor), status }),
  );
}

function finishRefund(deps: ControlDeps, body: ControlBody) {
  const refundId = str(body.refundId);
  const status = body.status;
  if (!refundId || (status !== "succeeded" && status !== "failed"))
    return badRequest('refundId and status ("succeeded" | "failed") are required');
  return emitting(deps, body, () => deps.stripe.finishRefund({ refundId, status }));
}

function failRefund(deps: ControlDeps, body: ControlBody) {
  const refundId = str(body.refundId);
  if (!refundId) return badRequest("refundId is required");
  return emitting(deps, body, () => deps.stripe.failRefund({ refundId }));
}

function finishPayment(deps: ControlDeps, body: ControlBody) {
  const status = body.status;
  if (status !== "succeeded" && status !== "failed")
    return badRequest('status ("succeeded" | "failed") and orderId or sessionId are required');
  const target = { orderId: str(body.orderId), sessionId: str(body.sessionId) };
  return emitting(deps, body, () => deps.stripe.finishPayment({ ...target, status }));
}

function confirmPaymentIntent(deps: ControlDeps, body: ControlBody) {
  const paymentIntentId = str(body.paymentIntentId);
  const outcome = body.outcome ?? "succeeded";
  if (!paymentIntentId || (outcome !== "succeeded" && outcome !== "declined"))
    return badRequest('paymentIntentId is required; outcome is "succeeded" (default) or "declined"');
  return emitting(deps, body, () => deps.stripe.confirmPaymentIntent({ paymentIntentId, outcome }));
}

function dispute(deps: ControlDeps, body: ControlBody) {
  const input = { ...paymentTarget(body), amountMinor: int(body.amountMinor), reason: str(body.reason) };
  if (!input.orderId && !input.paymentIntentId && !input.invoiceId) return badRequest(TARGET_REQUIRED);
  return emitting(deps, body, () => deps.stripe.dispute(input));
}

function moveDispute(deps: ControlDeps, body: ControlBody) {
  const disputeId = str(body.disputeId);
  const step = body.step;
  if (!disputeId || (step !== "respond" && step !== "won" && step !== "lost"))
    return badRequest('disputeId and step ("respond" | "won" | "lost") are required');
  return emitting(deps, body, () => deps.stripe.moveDispute({ disputeId, step }));
}

function sign(deps: ControlDeps, body: ControlBody) {
  const eventId = str(body.eventId);
  if (!eventId) return badRequest("eventId is required");
  const delivery = deps.stripe.signEvent(eventId, int(body.atMs) ?? deps.clock.now(), str(body.secret));
  return delivery ? json(200, { delivery }) : json(404, { error: `no such event ${eventId}` });
}

export function stripeControlRoutes(deps: ControlDeps): ControlRoute[] {
  return [
    { method: "POST", path: "/_control/stripe/pay", run: (body) => pay(deps, body) },
    { method: "POST", path: "/_control/stripe/pay/finish", run: (body) => finishPayment(deps, body) },
    { method: "POST", path: "/_control/stripe/abandon", run: (body) => abandon(deps, body) },
    {
      method: "POST",
      path: "/_control/stripe/expire",
      run: (body) =>
        emitting(deps, body, () =>
          deps.stripe.expire({ orderId: str(body.orderId), sessionId: str(body.sessionId) }),
        ),
    },
    {
      method: "POST",
      path: "/_control/stripe/payment_intent/confirm",
      run: (body) => confirmPaymentIntent(deps, body),
    },
    { method: "POST", path: "/_control/stripe/refund", run: (body) => refund(deps, body) },
    { method: "POST", path: "/_control/stripe/refund/finish", run: (body) => finishRefund(deps, body) },
    { method: "POST", path: "/_control/stripe/refund/fail", run: (body) => failRefund(deps, body) },
    {
      method: "GET",
      path: "/_control/stripe/refunds",
      run: () => json(200, { refunds: [...deps.stripe.state.refunds.values()] }),
    },
    {
      method: "GET",
      path: "/_control/stripe/disputes",
      run: () => json(200, { disputes: [...deps.stripe.state.disputes.values()] }),
    },
    { method: "POST", path: "/_control/stripe/dispute", run: (body) => dispute(deps, body) },
    { method: "POST", path: "/_control/stripe/dispute/move", run: (body) => moveDispute(deps, body) },
    { method: "POST", path: "/_control/stripe/sign", run: (body) => sign(deps, body) },
    {
      method: "GET",
      path: "/_control/stripe/sessions",
      run: (_body, request) => {
        const orderId = request.query.get("orderId");
        const sessions = [...deps.stripe.state.sessions.values()];
        return json(200, {
          sessions: orderId ? sessions.filter((s) => s.client_reference_id === orderId) : sessions,
        });
      },
    },
    ...stripeBillingControlRoutes(deps),
  ];
}
