// Stripe Billing's read side and edges in the sandbox, through the real stripe-node client: the list and
// retrieve routes with Stripe's paging, refunds and disputes of an invoice's payment, `events.list` for the
// Billing events, and the central API and delivery faults applied to the Billing routes and events.
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { type Receiver, startReceiver } from "../testing/receiver.ts";
import {
  type Answer,
  allOf,
  clientFor,
  controlOf,
  definePrices,
  eventsIn,
  subscribe,
} from "../testing/stripe-billing.ts";
import { PAYGUARD_EVENT_TYPES } from "./endpoints.ts";

let sandbox: Sandbox;
let stripe: Stripe;
const control = (path: string, body?: unknown) => controlOf(sandbox, path, body);
const typesOf = async (ids: string[]) => (await eventsIn(stripe, ids)).map((event) => event.type);

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 45 });
  stripe = clientFor(sandbox);
  await definePrices(sandbox);
});
afterAll(() => sandbox.close());

describe("lists and retrieval", () => {
  it("lists a customer's subscriptions, canceled ones only when asked", async () => {
    const first = await subscribe(stripe, sandbox, "ord_list_1", "price_pro");
    const customer = (await stripe.subscriptions.retrieve(first.subscriptionId)).customer as string;
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer,
      line_items: [{ price: "price_team", quantity: 1 }],
    });
    const second = await control("stripe/pay", { orderId: "ord_list_2", sessionId: session.id });
    expect(await typesOf(second.eventIds)).not.toContain("customer.created");
    const ids = async (params: Stripe.SubscriptionListParams) =>
      (await stripe.subscriptions.list({ customer, ...params })).data.map((s) => s.id);
    expect(await ids({})).toEqual([second.subscriptionId, first.subscriptionId]);
    await stripe.subscriptions.cancel(first.subscriptionId);
    expect(await ids({})).toEqual([second.subscriptionId]);
    expect(await ids({ status: "canceled" })).toEqual([first.subscriptionId]);
    expect(await ids({ status: "all" })).toEqual([second.subscriptionId, first.subscriptionId]);
    expect(await ids({ price: "price_team" })).toEqual([second.subscriptionId]);
    const invalid = await stripe.subscriptions
      .list({ status: "sleeping" as "active" })
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(invalid).toMatchObject({ statusCode: 400, param: "status" });
  });

  it("pages a subscription's invoices newest first with has_more and starting_after", async () => {
    const { subscriptionId, invoiceId } = await subscribe(stripe, sandbox, "ord_list_3", "price_pro");
    const renewals: string[] = [];
    for (let i = 0; i < 3; i += 1)
      renewals.push((await control("stripe/subscription/renew", { subscriptionId })).invoiceId as string);
    const newestFirst = [...renewals].reverse().concat(invoiceId);
    const first = await stripe.invoices.list({ subscription: subscriptionId, limit: 1 });
    expect(first.data.map((invoice) => invoice.id)).toEqual([newestFirst[0]]);
    expect(first.has_more).toBe(true);
    const next = await stripe.invoices.list({
      subscription: subscriptionId,
      limit: 2,
      starting_after: newestFirst[0],
    });
    expect(next.data.map((invoice) => invoice.id)).toEqual(newestFirst.slice(1, 3));
    const back = await stripe.invoices.list({
      subscription: subscriptionId,
      limit: 2,
      ending_before: newestFirst[3],
    });
    expect(back.data.map((invoice) => invoice.id)).toEqual(newestFirst.slice(1, 3));
    const walked: string[] = [];
    for await (const invoice of stripe.invoices.list({ subscription: subscriptionId, limit: 1 }))
      walked.push(invoice.id);
    expect(walked).toEqual(newestFirst);
    expect((await stripe.invoices.list({ subscription: subscriptionId, status: "paid" })).data).toHaveLength(
      4,
    );
    const lines = await stripe.invoices.listLineItems(invoiceId);
    expect(lines.data.map((line) => line.amount)).toEqual([1000]);
    const missing = await stripe.invoices
      .list({ subscription: subscriptionId, starting_after: "in_nope" })
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(missing).toMatchObject({ statusCode: 404, code: "resource_missing", param: "starting_after" });
    const unknown = await stripe.invoices
      .retrieve("in_nope")
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(unknown).toMatchObject({ statusCode: 404, code: "resource_missing" });
  });
});

describe("refunds and disputes of an invoice's payment", () => {
  it("refunds an invoice's PaymentIntent through the API and the control step, with the usual events", async () => {
    const { paid, invoiceId } = await subscribe(stripe, sandbox, "ord_inv_rf_1", "price_team");
    const intentId = paid.paymentIntentId as string;
    const refund = await stripe.refunds.create({ payment_intent: intentId, amount: 500 });
    expect(refund).toMatchObject({ status: "succeeded", amount: 500, payment_intent: intentId });
    const more = await control("stripe/refund", { invoiceId, amountMinor: 700 });
    expect(await typesOf(more.eventIds)).toEqual(["charge.refunded", "refund.created"]);
    const charge = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(intentId)).latest_charge as string,
    );
    expect(charge).toMatchObject({ amount: 2500, amount_refunded: 1200, refunded: false });
    const byOrder = await control("stripe/refund", { orderId: "ord_inv_rf_1" });
    expect((await stripe.refunds.retrieve(byOrder.refundId as string)).amount).toBe(1300);
    const canceled = await stripe.paymentIntents
      .cancel(intentId)
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(canceled).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" });
  });

  it("disputes an invoice's charge", async () => {
    const { paid, invoiceId } = await subscribe(stripe, sandbox, "ord_inv_dp_1", "price_pro");
    const opened = await control("stripe/dispute", { invoiceId });
    expect(opened.paymentIntentId).toBe(paid.paymentIntentId);
    expect(await typesOf(opened.eventIds)).toEqual([
      "charge.dispute.created",
      "charge.dispute.funds_withdrawn",
    ]);
    expect(await stripe.disputes.retrieve(opened.disputeId as string)).toMatchObject({
      amount: 1000,
      payment_intent: paid.paymentIntentId,
      status: "needs_response",
    });
    const unpaid = await control("stripe/dispute", { invoiceId: "in_nope" });
    expect(unpaid.status).toBe(404);
  });
});

describe("events.list for the Billing events", () => {
  it("filters them with types[] and type wildcards, and lists those sent nowhere under neither delivery_success", async () => {
    const { paid, invoiceId } = await subscribe(stripe, sandbox, "ord_ev_sub_1", "price_pro");
    const paidEvents = await stripe.events.list({
      types: ["invoice.paid", "invoice_payment.paid"],
      limit: 2,
    });
    expect(paidEvents.data.map((event) => event.type)).toEqual(["invoice.paid", "invoice_payment.paid"]);
    expect(paidEvents.data[0]?.data.object).toMatchObject({ id: invoiceId });
    const invoiceEvents = await stripe.events.list({ type: "invoice.*", limit: 4 });
    expect(invoiceEvents.data.map((event) => event.type)).toEqual([
      "invoice.payment_succeeded",
      "invoice.paid",
      "invoice.finalized",
      "invoice.created",
    ]);
    // No endpoint is registered: events of types payguard's endpoint does not take were sent nowhere.
    const sentNowhere = (await eventsIn(stripe, allOf(paid)))
      .filter((event) => !PAYGUARD_EVENT_TYPES.some((type) => type === event.type))
      .map((event) => event.id);
    expect(sentNowhere.length).toBeGreaterThan(0);
    const failing = await stripe.events.list({ delivery_success: false, limit: 100 });
    const delivered = await stripe.events.list({ delivery_success: true, limit: 100 });
    const listed = [...failing.data, ...delivered.data].map((event) => event.id);
    expect(sentNowhere.filter((id) => listed.includes(id))).toEqual([]);
  });
});

describe("the central faults apply to the Billing routes and events", () => {
  let faulty: Sandbox;
  let client: Stripe;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    faulty = await startSandbox({ seed: 47 });
    client = clientFor(faulty);
    await definePrices(faulty);
    await client.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ["invoice.paid", "customer.subscription.created"],
    });
  });
  afterAll(async () => {
    await faulty.close();
    await receiver.close();
  });

  it("fails a Billing API call with Stripe's 5xx, then answers again", async () => {
    const { subscriptionId } = await subscribe(client, faulty, "ord_fault_1", "price_pro");
    await controlOf(faulty, "faults", {
      api: [{ kind: "5xx", status: 503, count: 1, pathPrefix: "/v1/subscriptions" }],
    });
    const failed = await client.subscriptions
      .retrieve(subscriptionId)
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(failed).toMatchObject({ statusCode: 503, type: "StripeAPIError" });
    expect((await client.subscriptions.retrieve(subscriptionId)).id).toBe(subscriptionId);
  });

  it("drops a Billing event's delivery like any other", async () => {
    await controlOf(faulty, "faults", {
      delivery: { rules: [{ action: "drop", count: 1, match: { eventType: "invoice.paid" } }] },
    });
    const first = await subscribe(client, faulty, "ord_fault_2", "price_pro");
    const second = await subscribe(client, faulty, "ord_fault_3", "price_pro");
    const log = (await controlOf(faulty, "deliveries?wait=1")).deliveries as unknown as Array<{
      eventId: string;
      eventType: string;
      fault: string | null;
    }>;
    const ofStep = (answer: Answer) =>
      log.filter((entry) => entry.eventType === "invoice.paid" && answer.eventIds.includes(entry.eventId));
    expect([...ofStep(first.paid), ...ofStep(second.paid)].map((entry) => entry.fault)).toEqual([
      "drop",
      null,
    ]);
    const paidInvoices = receiver.received
      .map((r) => JSON.parse(r.body) as Stripe.Event)
      .filter((event) => event.type === "invoice.paid")
      .map((event) => (event.data.object as Stripe.Invoice).id)
      .filter((id) => id === first.invoiceId || id === second.invoiceId);
    expect(paidInvoices).toEqual([second.invoiceId]);
  });
});
