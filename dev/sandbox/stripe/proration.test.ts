// Plan changes in the sandbox, through the real stripe-node client: prorations invoiced at once and
// checked by hand against a fixed clock, a downgrade's credit carried on the customer's balance,
// `proration_behavior=none`, what is refused as not simulated, and cancel_at_period_end.
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { allOf, clientFor, controlOf, definePrices, eventsIn, subscribe } from "../testing/stripe-billing.ts";

describe("plan changes with proration", () => {
  let proration: Sandbox;
  let client: Stripe;
  /** 2026-03-01T00:00:00Z: a monthly period of 31 days, 2,678,400 s, to 2026-04-01. */
  const START_MS = Date.UTC(2026, 2, 1);
  const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

  beforeAll(async () => {
    proration = await startSandbox({ seed: 43 });
    client = clientFor(proration);
    await definePrices(proration);
    await controlOf(proration, "clock", { setMs: START_MS });
  });
  afterAll(() => proration.close());

  it("invoices an upgrade at once: the unused time credited, the remaining time charged, rounded to the cent", async () => {
    const { subscriptionId, invoiceId } = await subscribe(client, proration, "ord_pr_1", "price_pro");
    const itemId = (await client.subscriptions.retrieve(subscriptionId)).items.data[0]?.id as string;
    const firstLine = (await client.invoices.retrieve(invoiceId)).lines.data[0]?.id;
    // 2026-03-11T08:00Z leaves 20 d 16 h = 1,785,600 s of 2,678,400 s: exactly 2/3 of the period.
    // Unused Pro: 1000 × 2/3 = 666.67 → −667; remaining Team: 2500 × 2/3 = 1666.67 → 1667; due 1000.
    const updated = await client.subscriptions.update(subscriptionId, {
      items: [{ id: itemId, price: "price_team" }],
      proration_behavior: "always_invoice",
      proration_date: at("2026-03-11T08:00:00Z"),
    });
    expect(updated.items.data[0]).toMatchObject({ id: itemId, price: { id: "price_team" } });
    const invoice = await client.invoices.retrieve(updated.latest_invoice as string);
    expect(invoice).toMatchObject({
      billing_reason: "subscription_update",
      status: "paid",
      total: 1000,
      amount_paid: 1000,
    });
    expect(invoice.lines.data.map((line) => [line.description, line.amount])).toEqual([
      ["Unused time on Pro after 11 Mar 2026", -667],
      ["Remaining time on Team after 11 Mar 2026", 1667],
    ]);
    const period = { start: at("2026-03-11T08:00:00Z"), end: at("2026-04-01T00:00:00Z") };
    for (const line of invoice.lines.data) {
      expect(line.period).toEqual(period);
      expect(line.parent?.subscription_item_details).toMatchObject({
        proration: true,
        subscription_item: itemId,
      });
      expect(line.parent?.subscription_item_details?.invoice_item).toMatch(/^ii_/);
    }
    expect(
      invoice.lines.data[0]?.parent?.subscription_item_details?.proration_details?.credited_items,
    ).toEqual({
      invoice: invoiceId,
      invoice_line_items: [firstLine],
    });
    const intents = await client.invoicePayments.list({ invoice: invoice.id });
    const intent = await client.paymentIntents.retrieve(intents.data[0]?.payment.payment_intent as string);
    expect(intent).toMatchObject({ amount: 1000, status: "succeeded", description: "Subscription update" });
    const { data } = await client.events.list({ limit: 20 });
    const ours = data.reverse().slice(-9);
    expect(ours.map((event) => event.type)).toEqual([
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
    expect(ours[0]?.data.previous_attributes).toMatchObject({
      items: { data: [{ price: { id: "price_pro" } }] },
      latest_invoice: invoiceId,
    });
  });

  it("credits a downgrade to the customer's balance, which the next invoice uses", async () => {
    const { subscriptionId } = await subscribe(client, proration, "ord_pr_2", "price_team");
    const subscription = await client.subscriptions.retrieve(subscriptionId);
    // 2026-03-21T16:00Z leaves 10 d 8 h = 892,800 s, 1/3: Team 2500 / 3 = 833.33 → −833; Pro 333.33 → 333.
    const updated = await client.subscriptions.update(subscriptionId, {
      items: [{ id: subscription.items.data[0]?.id as string, price: "price_pro" }],
      proration_behavior: "always_invoice",
      proration_date: at("2026-03-21T16:00:00Z"),
    });
    const credit = await client.invoices.retrieve(updated.latest_invoice as string);
    expect(credit).toMatchObject({
      total: -500,
      amount_due: 0,
      amount_paid: 0,
      status: "paid",
      ending_balance: -500,
    });
    expect((await client.invoicePayments.list({ invoice: credit.id })).data).toEqual([]);
    expect(
      (await client.customers.retrieve(subscription.customer as string)) as Stripe.Customer,
    ).toMatchObject({ balance: -500 });
    const renewed = await controlOf(proration, "stripe/subscription/renew", { subscriptionId });
    const next = await client.invoices.retrieve(renewed.invoiceId as string);
    expect(next).toMatchObject({
      total: 1000,
      starting_balance: -500,
      amount_due: 500,
      amount_paid: 500,
      ending_balance: 0,
    });
  });

  it("changes the plan without an invoice under proration_behavior=none", async () => {
    const { subscriptionId, invoiceId } = await subscribe(client, proration, "ord_pr_3", "price_pro");
    const itemId = (await client.subscriptions.retrieve(subscriptionId)).items.data[0]?.id as string;
    const updated = await client.subscriptions.update(subscriptionId, {
      items: [{ id: itemId, price: "price_team", quantity: 3 }],
      proration_behavior: "none",
    });
    expect(updated).toMatchObject({ latest_invoice: invoiceId });
    expect(updated.items.data[0]).toMatchObject({ quantity: 3, price: { id: "price_team" } });
    const [event] = (await client.events.list({ limit: 1 })).data;
    expect(event?.type).toBe("customer.subscription.updated");
    const renewed = await controlOf(proration, "stripe/subscription/renew", { subscriptionId });
    expect((await client.invoices.retrieve(renewed.invoiceId as string)).amount_due).toBe(7500);
  });

  it("refuses what it does not simulate the way Stripe refuses a parameter", async () => {
    const { subscriptionId } = await subscribe(client, proration, "ord_pr_4", "price_pro");
    const itemId = (await client.subscriptions.retrieve(subscriptionId)).items.data[0]?.id as string;
    const refusal = (params: Stripe.SubscriptionUpdateParams) =>
      client.subscriptions
        .update(subscriptionId, params)
        .catch((e: unknown) => e as Stripe.errors.StripeError);
    const change = { items: [{ id: itemId, price: "price_team" }] };
    for (const params of [change, { ...change, proration_behavior: "create_prorations" as const }])
      expect(await refusal(params)).toMatchObject({ statusCode: 400, param: "proration_behavior" });
    expect(await refusal({ ...change, proration_behavior: "sometimes" as "none" })).toMatchObject({
      statusCode: 400,
      param: "proration_behavior",
    });
    expect(
      await refusal({ items: [{ id: "si_nope", price: "price_team" }], proration_behavior: "none" }),
    ).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "items[0][id]",
    });
    expect(
      await refusal({ items: [{ id: itemId, price: "price_yearly" }], proration_behavior: "none" }),
    ).toMatchObject({
      statusCode: 400,
      param: "items[0][price]",
    });
    expect(
      await refusal({
        ...change,
        proration_behavior: "always_invoice",
        proration_date: at("2026-05-01T00:00:00Z"),
      }),
    ).toMatchObject({
      statusCode: 400,
      param: "proration_date",
    });
    expect((await client.subscriptions.retrieve(subscriptionId)).items.data[0]?.price.id).toBe("price_pro");
  });

  it("cancels at the period's end when asked through the update", async () => {
    const { subscriptionId } = await subscribe(client, proration, "ord_pr_5", "price_pro");
    const updated = await client.subscriptions.update(subscriptionId, {
      cancel_at_period_end: true,
      metadata: { reason: "moving" },
    });
    const periodEnd = updated.items.data[0]?.current_period_end;
    expect(updated).toMatchObject({
      status: "active",
      cancel_at_period_end: true,
      cancel_at: periodEnd,
      metadata: { reason: "moving" },
    });
    const [event] = (await client.events.list({ limit: 1 })).data;
    expect(event?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, cancel_at: null });
    const ended = await controlOf(proration, "stripe/subscription/renew", { subscriptionId });
    expect(ended).toMatchObject({ invoiceId: "", subscriptionStatus: "canceled" });
    const events = await eventsIn(client, allOf(ended));
    expect(events.map((e) => e.type)).toEqual(["customer.subscription.deleted"]);
    expect(await client.subscriptions.retrieve(subscriptionId)).toMatchObject({
      status: "canceled",
      ended_at: periodEnd,
    });
  });
});
