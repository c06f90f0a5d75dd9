// The Stripe simulator: the REST API (./api.ts), the hosted Checkout page, and the scenario steps
// (./scenarios.ts, ./billing-scenarios.ts) tests drive through `/_control/stripe/*`. Every state change
// emits Stripe's events; their signed deliveries go to the `deliver` callback.
import type { Clock, QueuedDelivery, SandboxRequest, SandboxResponse } from "../http.ts";
import type { Random } from "../rng.ts";
import { handleStripeApi } from "./api.ts";
import * as billing from "./billing-scenarios.ts";
import { expireDueSessions } from "./checkout.ts";
import { addEndpoint, PAYGUARD_EVENT_TYPES } from "./endpoints.ts";
import { handleHostedCheckout } from "./hosted.ts";
import * as scenarios from "./scenarios.ts";
import { clearStripeState, createStripeState, type DeliveryOutcome, type StripeContext } from "./state.ts";
import { renewDueSubscriptions } from "./subscriptions.ts";

export type { PayInput } from "./scenarios.ts";

export interface StripeSandboxOptions {
  secretKey: string;
  webhookSecret: string;
  clock: Clock;
  random: Random;
  baseUrl(): string;
  deliver(delivery: QueuedDelivery): void;
  deliveryOutcome(eventId: string): DeliveryOutcome;
}

export function createStripeSandbox(options: StripeSandboxOptions) {
  const state = createStripeState();
  const context: StripeContext = {
    state,
    clock: options.clock,
    random: options.random,
    baseUrl: options.baseUrl,
    webhookSecret: options.webhookSecret,
    deliver: options.deliver,
    deliveryOutcome: options.deliveryOutcome,
  };
  return {
    state,
    handle(request: SandboxRequest): SandboxResponse | null {
      return handleStripeApi(context, options.secretKey, request) ?? handleHostedCheckout(context, request);
    },
    /** The endpoint payguard would register, signed with the shared webhook secret. */
    registerEndpoint(url: string) {
      return addEndpoint(context, {
        url,
        enabledEvents: PAYGUARD_EVENT_TYPES,
        description: "payguard (sandbox)",
        secret: options.webhookSecret,
      });
    },
    pay: (input: scenarios.PayInput) => scenarios.pay(context, input),
    abandon: (input: scenarios.PayInput) => scenarios.abandon(context, input),
    expire: (input: { orderId?: string; sessionId?: string }) => scenarios.expire(context, input),
    refund: (input: Parameters<typeof scenarios.refund>[1]) => scenarios.refund(context, input),
    finishRefund: (input: Parameters<typeof scenarios.finishRefund>[1]) =>
      scenarios.finishRefund(context, input),
    failRefund: (input: Parameters<typeof scenarios.failRefund>[1]) => scenarios.failRefund(context, input),
    finishPayment: (input: Parameters<typeof scenarios.finishPayment>[1]) =>
      scenarios.finishPayment(context, input),
    confirmPaymentIntent: (input: Parameters<typeof scenarios.confirmPaymentIntent>[1]) =>
      scenarios.confirmPaymentIntent(context, input),
    dispute: (input: Parameters<typeof scenarios.dispute>[1]) => scenarios.dispute(context, input),
    moveDispute: (input: Parameters<typeof scenarios.moveDispute>[1]) =>
      scenarios.moveDispute(context, input),
    signEvent: (eventId: string, atMs: number, secret?: string) =>
      scenarios.signEvent(context, eventId, atMs, secret),
    definePrice: (input: Parameters<typeof billing.price>[1]) => billing.price(context, input),
    renew: (input: Parameters<typeof billing.renew>[1]) => billing.renew(context, input),
    payInvoice: (input: Parameters<typeof billing.payInvoice>[1]) => billing.payInvoice(context, input),
    /**
     * Time-driven transitions: open sessions past `expires_at` expire; subscriptions whose period ended
     * renew (their invoices paid) or, set to cancel at period end, end.
     */
    tick: (): void => {
      expireDueSessions(context);
      renewDueSubscriptions(context);
    },
    /** Forgets objects and events; registered webhook endpoints stay. */
    reset: () => clearStripeState(state),
  };
}

export type StripeSandbox = ReturnType<typeof createStripeSandbox>;
