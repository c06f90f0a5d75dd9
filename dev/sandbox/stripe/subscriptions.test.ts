// Stripe subscriptions in the sandbox, driven by the real stripe-node client: prices, subscribing through
// Checkout (the objects and the events, in order), renewals paid, declined and driven by the clock, and
// cancellation. Plan changes: proration.test.ts; lists, invoice payments' refunds and disputes, events
// and faults: billing.test.ts.
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { allOf, clientFor, controlOf, definePrices, eventsIn, subscribe } from "../testing/stripe-billing.ts";
import { PAYGUARD_EVENT_TYPES } from "./endpoints.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

let sandbox: Sandbox;
let stripe: Stripe;
const control = (path: string, body?: unknown) => controlOf(sandbox, path, body);
const typesOf = async (ids: string[]) => (await eventsIn(stripe, ids)).map((event) => event.type);

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 41 });
  stripe = clientFor(sandbox);
  await definePrices(sandbox);
});
afterAll(() => sandbox.close());

describe("prices", () => {
  it("creates a recurring price with its product, and retrieves both", async () => {
    const price = await stripe.prices.create({
      unit_amount: 1200,
      currency: "usd",
      recurring: { interval: "month", interval_count: 3 },
      product_data: { name: "Quarterly" },
    });
    expect(price).toMatchObject({
      object: "price",
      type: "recurring",
      unit_amount: 1200,
      currency: "usd",
      recurring: { interval: "month", interval_count: 3, usage_type: "licensed" },
    });
    expect(price.id).toMatch(/^price_/);
    expect((await stripe.prices.retrieve(price.id)).unit_amount).toBe(1200);
    expect(await stripe.products.retrieve(price.product as string)).toMatchObject({ name: "Quarterly" });
    const expanded = await stripe.prices.retrieve(price.id, { expand: ["product"] });
    expect((expanded.product as Stripe.Product).name).toBe("Quarterly");
  });

  it("defines a price under a chosen id: the same terms answer it again, other terms are refused", async () => {
    const again = await control("stripe/price", {
      id: "price_pro",
      unitAmount: 1000,
      currency: "usd",
      interval: "month",
    });
    expect(again.price).toMatchObject({ id: "price_pro", unit_amount: 1000 });
    const other = await control("stripe/price", {
      id: "price_pro",
      unitAmount: 1100,
      currency: "usd",
      interval: "month",
    });
    expect(other.status).toBe(409);
    const invalid = await control("stripe/price", {
      id: "price_bad",
      unitAmount: 100,
      currency: "usd",
      interval: "hour",
    });
    expect(invalid).toMatchObject({ status: 400, error: expect.stringContaining("recurring[interval]") });
    expect(await stripe.prices.retrieve("price_pro")).toMatchObject({
      unit_amount: 1000,
      recurring: { interval: "month" },
    });
  });

  it("refuses an unknown interval and a missing product the way Stripe does", async () => {
    const refusal = (params: Stripe.PriceCreateParams) =>
      stripe.prices.create(params).catch((e: unknown) => e as Stripe.errors.StripeError);
    const interval = await refusal({
      unit_amount: 100,
      currency: "usd",
      recurring: { interval: "fortnight" as "week" },
      product_data: { name: "x" },
    });
    expect(interval).toMatchObject({
      statusCode: 400,
      param: "recurring[interval]",
      type: "StripeInvalidRequestError",
    });
    expect(await refusal({ unit_amount: 100, currency: "usd" })).toMatchObject({
      statusCode: 400,
      param: "product",
    });
    const missing = await stripe.prices
      .retrieve("price_nope")
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(missing).toMatchObject({ statusCode: 404, code: "resource_missing" });
  });
});

describe("subscribing through Checkout", () => {
  it("creates the customer, the active subscription and its paid first invoice, and completes the session", async () => {
    const { session, subscriptionId, invoiceId, paid } = await subscribe(
      stripe,
      sandbox,
      "ord_sub_1",
      "price_pro",
      2,
    );
    expect(session).toMatchObject({
      mode: "subscription",
      status: "open",
      amount_total: 2000,
      subscription: null,
    });
    const completed = await stripe.checkout.sessions.retrieve(session.id);
    expect(completed).toMatchObject({
      mode: "subscription",
      status: "complete",
      payment_status: "paid",
      amount_total: 2000,
      payment_intent: null,
      subscription: subscriptionId,
      invoice: invoiceId,
      client_reference_id: "ord_sub_1",
    });
    expect(completed.customer).toMatch(/^cus_/);
    const subscription = await stripe.subscriptions.retrieve(subscriptionId);
    expect(subscription).toMatchObject({
      object: "subscription",
      status: "active",
      customer: completed.customer,
      currency: "usd",
      metadata: { user_id: "u1", plan: "pro" },
      latest_invoice: invoiceId,
      cancel_at_period_end: false,
      collection_method: "charge_automatically",
    });
    const [item] = subscription.items.data;
    expect(item).toMatchObject({
      object: "subscription_item",
      quantity: 2,
      price: { id: "price_pro" },
      subscription: subscriptionId,
    });
    expect(item?.current_period_start).toBe(subscription.start_date);
    const periodDays = ((item?.current_period_end ?? 0) - subscription.start_date) / (24 * 60 * 60);
    expect(periodDays).toBeGreaterThanOrEqual(28);
    expect(periodDays).toBeLessThanOrEqual(31);
    const invoice = await stripe.invoices.retrieve(invoiceId);
    expect(invoice).toMatchObject({
      object: "invoice",
      billing_reason: "subscription_create",
      status: "paid",
      amount_due: 2000,
      amount_paid: 2000,
      amount_remaining: 0,
      subtotal: 2000,
      total: 2000,
      currency: "usd",
      customer: completed.customer,
      period_start: subscription.start_date,
      period_end: subscription.start_date,
      parent: {
        type: "subscription_details",
        subscription_details: { subscription: subscriptionId, metadata: { user_id: "u1", plan: "pro" } },
      },
    });
    expect(invoice.number).toMatch(/^[0-9A-Z]{8}-0001$/);
    expect(invoice.status_transitions.paid_at).toEqual(expect.any(Number));
    expect(invoice.lines.data).toEqual([
      expect.objectContaining({
        object: "line_item",
        amount: 2000,
        quantity: 2,
        description: "2 × Pro (at $10.00 / month)",
        period: { start: item?.current_period_start, end: item?.current_period_end },
        pricing: expect.objectContaining({
          price_details: { price: "price_pro", product: expect.stringMatching(/^prod_/) },
        }),
        parent: expect.objectContaining({
          type: "subscription_item_details",
          subscription_item_details: expect.objectContaining({
            proration: false,
            subscription_item: item?.id,
          }),
        }),
      }),
    ]);
    expect(await stripe.customers.retrieve(completed.customer as string)).toMatchObject({
      object: "customer",
      email: "buyer@example.com",
    });
    expect(paid.paymentIntentId).toMatch(/^pi_/);
  });

  it("emits Stripe's events in order, the invoice's PaymentIntent and Charge apart", async () => {
    const { paid, subscriptionId } = await subscribe(stripe, sandbox, "ord_sub_2", "price_pro");
    const events = await eventsIn(stripe, allOf(paid));
    expect(events.map((event) => event.type)).toEqual([
      "customer.created",
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
      "invoice_payment.paid",
      "invoice.paid",
      "invoice.payment_succeeded",
      "checkout.session.completed",
    ]);
    expect(await typesOf(paid.paymentEventIds)).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
    const statusIn = (type: string) =>
      (events.find((event) => event.type === type)?.data.object as { status?: string } | undefined)?.status;
    expect(["invoice.created", "invoice.finalized", "invoice.paid"].map(statusIn)).toEqual([
      "draft",
      "open",
      "paid",
    ]);
    expect(statusIn("customer.subscription.created")).toBe("active");
    const payment = events.find((event) => event.type === "invoice_payment.paid")?.data
      .object as Stripe.InvoicePayment;
    expect(payment).toMatchObject({
      object: "invoice_payment",
      status: "paid",
      amount_paid: 1000,
      is_default: true,
      payment: { type: "payment_intent", payment_intent: paid.paymentIntentId },
    });
    const created = events[1]?.data.object as Stripe.Subscription;
    expect(created).toMatchObject({ id: subscriptionId, latest_invoice: paid.invoiceId });
    // No endpoint is registered: the test stands in for payguard's, and gets what that subscribes to.
    const subscribed = events.filter(
      (event) => paid.eventIds.includes(event.id) && PAYGUARD_EVENT_TYPES.some((type) => type === event.type),
    );
    expect(paid.deliveries.map((d) => d.eventId)).toEqual(subscribed.map((event) => event.id));
    expect(subscribed.map((event) => event.type)).toContain("checkout.session.completed");
  });

  it("finds the invoice's PaymentIntent, which carries no app metadata, from the invoice and back", async () => {
    const { paid, invoiceId } = await subscribe(stripe, sandbox, "ord_sub_3", "price_pro");
    const intentId = paid.paymentIntentId as string;
    const byInvoice = await stripe.invoicePayments.list({ invoice: invoiceId });
    expect(byInvoice.data.map((p) => p.payment.payment_intent)).toEqual([intentId]);
    const byIntent = await stripe.invoicePayments.list({
      payment: { type: "payment_intent", payment_intent: intentId },
    });
    expect(byIntent.data.map((p) => p.invoice)).toEqual([invoiceId]);
    expect((await stripe.invoicePayments.retrieve(byIntent.data[0]?.id as string)).status).toBe("paid");
    const intent = await stripe.paymentIntents.retrieve(intentId);
    expect(intent).toMatchObject({
      status: "succeeded",
      amount: 1000,
      metadata: {},
      description: "Subscription creation",
    });
    expect((await stripe.charges.retrieve(intent.latest_charge as string)).metadata).toEqual({});
    const expanded = await stripe.invoicePayments.list({
      invoice: invoiceId,
      expand: ["data.payment.payment_intent"],
    });
    expect(expanded.data[0]?.payment).toMatchObject({
      payment_intent: { id: intentId, object: "payment_intent" },
    });
    const none = await stripe.invoicePayments.list({
      payment: { type: "payment_intent", payment_intent: "pi_other" },
    });
    expect(none.data).toEqual([]);
  });

  it("expands latest_invoice on a subscription and the subscription on its session", async () => {
    const { session, subscriptionId, invoiceId } = await subscribe(stripe, sandbox, "ord_sub_4", "price_pro");
    const subscription = await stripe.subscriptions.retrieve(subscriptionId, {
      expand: ["latest_invoice", "customer", "items.data.price.product"],
    });
    expect(subscription.items.data[0]?.price.product).toMatchObject({ object: "product", name: "Pro" });
    expect((subscription.latest_invoice as Stripe.Invoice).id).toBe(invoiceId);
    expect((subscription.customer as Stripe.Customer).object).toBe("customer");
    const withSubscription = await stripe.checkout.sessions.retrieve(session.id, {
      expand: ["subscription"],
    });
    expect((withSubscription.subscription as Stripe.Subscription).id).toBe(subscriptionId);
    const listed = await stripe.checkout.sessions.list({ subscription: subscriptionId });
    expect(listed.data.map((s) => s.id)).toEqual([session.id]);
  });

  it("is paid on the hosted page too, which redirects to success_url", async () => {
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: "price_team", quantity: 1 }],
      success_url: "https://app.example.com/ok?session={CHECKOUT_SESSION_ID}",
    });
    const page = await fetch(session.url as string, { method: "POST", redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe(`https://app.example.com/ok?session=${session.id}`);
    const completed = await stripe.checkout.sessions.retrieve(session.id, { expand: ["invoice"] });
    expect(completed).toMatchObject({
      status: "complete",
      payment_status: "paid",
      invoice: { status: "paid", total: 2500 },
    });
    expect(completed.subscription).toMatch(/^sub_/);
  });

  it("refuses what subscription mode cannot take, as Stripe does", async () => {
    const refusal = (params: Stripe.Checkout.SessionCreateParams) =>
      stripe.checkout.sessions.create(params).catch((e: unknown) => e as Stripe.errors.StripeError);
    const base = { mode: "subscription" as const, line_items: [{ price: "price_pro", quantity: 1 }] };
    expect(await refusal({ ...base, payment_intent_data: { metadata: { a: "b" } } })).toMatchObject({
      statusCode: 400,
      param: "payment_intent_data",
    });
    const oneTime = await control("stripe/price", { id: "price_once", unitAmount: 500, currency: "usd" });
    expect(oneTime.price).toMatchObject({ type: "one_time" });
    expect(await refusal({ ...base, line_items: [{ price: "price_once", quantity: 1 }] })).toMatchObject({
      statusCode: 400,
      param: "line_items[0][price]",
    });
    expect(await refusal({ ...base, line_items: [{ price: "price_missing", quantity: 1 }] })).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
    });
    const payment = await stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price: "price_once", quantity: 2 }],
    });
    expect(payment.amount_total).toBe(1000);
  });
});

describe("renewals", () => {
  it("renews paid on demand: a new period, a subscription_cycle invoice, and Stripe's events", async () => {
    const { subscriptionId, invoiceId } = await subscribe(stripe, sandbox, "ord_renew_1", "price_pro");
    const before = (await stripe.subscriptions.retrieve(subscriptionId)).items
      .data[0] as Stripe.SubscriptionItem;
    const renewed = await control("stripe/subscription/renew", { subscriptionId });
    expect(renewed).toMatchObject({ status: 200, subscriptionId });
    const after = await stripe.subscriptions.retrieve(subscriptionId);
    const item = after.items.data[0] as Stripe.SubscriptionItem;
    expect(item.current_period_start).toBe(before.current_period_end);
    expect(item.current_period_end).toBeGreaterThan(before.current_period_end);
    expect(after).toMatchObject({ status: "active", latest_invoice: renewed.invoiceId });
    const invoice = await stripe.invoices.retrieve(renewed.invoiceId as string);
    expect(invoice).toMatchObject({
      billing_reason: "subscription_cycle",
      status: "paid",
      amount_paid: 1000,
      period_start: before.current_period_start,
      period_end: before.current_period_end,
    });
    expect(invoice.number).toMatch(/-0002$/);
    expect(invoice.lines.data[0]?.period).toEqual({
      start: item.current_period_start,
      end: item.current_period_end,
    });
    const events = await eventsIn(stripe, allOf(renewed));
    expect(events.map((event) => event.type)).toEqual([
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
      "invoice_payment.paid",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    const previous = events[0]?.data.previous_attributes as {
      items: { data: Stripe.SubscriptionItem[] };
      latest_invoice: string;
    };
    expect(previous.items.data[0]).toMatchObject({
      current_period_start: before.current_period_start,
      current_period_end: before.current_period_end,
    });
    expect(previous.latest_invoice).toBe(invoiceId);
  });

  it("declines a renewal: past_due with the invoice open, until another attempt pays it", async () => {
    const { subscriptionId } = await subscribe(stripe, sandbox, "ord_renew_2", "price_pro");
    const failed = await control("stripe/subscription/renew", { subscriptionId, outcome: "failed" });
    expect(failed.status).toBe(200);
    const events = await eventsIn(stripe, allOf(failed));
    expect(events.map((event) => event.type)).toEqual([
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "payment_intent.created",
      "payment_intent.payment_failed",
      "invoice.payment_failed",
      "customer.subscription.updated",
    ]);
    expect(events.at(-1)?.data).toMatchObject({
      object: { status: "past_due" },
      previous_attributes: { status: "active" },
    });
    expect(await stripe.invoices.retrieve(failed.invoiceId as string)).toMatchObject({
      status: "open",
      attempted: true,
      attempt_count: 1,
      amount_paid: 0,
      amount_remaining: 1000,
    });
    const intent = await stripe.paymentIntents.retrieve(failed.paymentIntentId as string);
    expect(intent).toMatchObject({
      status: "requires_payment_method",
      last_payment_error: { code: "card_declined" },
    });
    const retried = await control("stripe/invoice/pay", { invoiceId: failed.invoiceId });
    expect(await typesOf(allOf(retried))).toEqual([
      "charge.succeeded",
      "payment_intent.succeeded",
      "invoice_payment.paid",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);
    expect(retried.paymentIntentId).toBe(failed.paymentIntentId);
    expect(await stripe.subscriptions.retrieve(subscriptionId)).toMatchObject({ status: "active" });
    expect((await control("stripe/invoice/pay", { invoiceId: failed.invoiceId })).status).toBe(409);
  });

  it("renews by itself when the sandbox clock passes the end of the period", async () => {
    const { subscriptionId } = await subscribe(stripe, sandbox, "ord_renew_3", "price_daily");
    const before = (await stripe.subscriptions.retrieve(subscriptionId)).items
      .data[0] as Stripe.SubscriptionItem;
    expect(before.current_period_end - before.current_period_start).toBe(24 * 60 * 60);
    await control("clock", { advanceMs: 2 * DAY_MS + 60_000 });
    try {
      const invoices = await stripe.invoices.list({ subscription: subscriptionId });
      expect(invoices.data.map((invoice) => invoice.billing_reason)).toEqual([
        "subscription_cycle",
        "subscription_cycle",
        "subscription_create",
      ]);
      const item = (await stripe.subscriptions.retrieve(subscriptionId)).items.data[0];
      expect(item?.current_period_start).toBe(before.current_period_start + 2 * 24 * 60 * 60);
    } finally {
      await control("clock", { advanceMs: -(2 * DAY_MS + 60_000) });
    }
  });
});

describe("cancellation", () => {
  it("cancels at once: canceled, customer.subscription.deleted, and no second cancel", async () => {
    const { subscriptionId } = await subscribe(stripe, sandbox, "ord_cancel_1", "price_pro");
    const canceled = await stripe.subscriptions.cancel(subscriptionId, {
      cancellation_details: { comment: "too expensive" },
    });
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_details: { comment: "too expensive", reason: "cancellation_requested" },
    });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    expect(canceled.ended_at).toBe(canceled.canceled_at);
    const { data } = await stripe.events.list({ type: "customer.subscription.deleted", limit: 100 });
    expect(
      data.filter((event) => (event.data.object as Stripe.Subscription).id === subscriptionId),
    ).toHaveLength(1);
    const again = await stripe.subscriptions
      .cancel(subscriptionId)
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(again).toMatchObject({ statusCode: 400 });
    expect((await control("stripe/subscription/renew", { subscriptionId })).status).toBe(409);
    const prorated = await subscribe(stripe, sandbox, "ord_cancel_2", "price_pro");
    const refused = await stripe.subscriptions
      .cancel(prorated.subscriptionId, { prorate: true })
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(refused).toMatchObject({ statusCode: 400, param: "prorate" });
  });
});
