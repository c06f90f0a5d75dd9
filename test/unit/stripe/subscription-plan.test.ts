/**
 * Invoice and subscription events read field by field (src/providers/stripe/subscription-plan.ts): the
 * basil-and-later shapes and the older top-level fields, the lines' service period (not the invoice's
 * look-back period), tax left out of the paid amount, and what is refused rather than guessed.
 */
import { describe, expect, it } from "vitest";
import { planSubscriptionEvent } from "../../../src/providers/stripe/subscription-plan.ts";

const USER = "6f1c1c1e-8a6b-4c59-9b7e-0d6f5b1f8c11";
const PERIOD = { start: 1_780_000_000, end: 1_782_592_000 };

const line = (overrides: Record<string, unknown> = {}) => ({
  object: "line_item",
  amount: 1000,
  currency: "usd",
  quantity: 1,
  period: PERIOD,
  pricing: { type: "price_details", price_details: { price: "price_basic", product: "prod_1" } },
  parent: {
    type: "subscription_item_details",
    subscription_item_details: { subscription: "sub_1", subscription_item: "si_1", proration: false },
  },
  ...overrides,
});

const invoice = (overrides: Record<string, unknown> = {}) => ({
  id: "in_1",
  object: "invoice",
  status: "paid",
  billing_reason: "subscription_cycle",
  amount_paid: 1100,
  currency: "usd",
  total: 1100,
  total_excluding_tax: 1000,
  total_discount_amounts: [],
  // Stripe's invoice period looks back one period; the lines say what was paid for.
  period_start: PERIOD.start - 2_592_000,
  period_end: PERIOD.start,
  status_transitions: { paid_at: PERIOD.start + 3600 },
  parent: {
    type: "subscription_details",
    subscription_details: { subscription: "sub_1", metadata: { user_id: USER, package_id: "basic" } },
  },
  lines: { object: "list", data: [line()], has_more: false },
  ...overrides,
});

describe("invoice.paid", () => {
  it("states the invoice's lines, service period, amount without tax and the subscription's metadata", () => {
    expect(planSubscriptionEvent("invoice.paid", invoice(), PERIOD.start + 3700)).toEqual({
      action: "settle_subscription",
      fact: {
        kind: "invoice_paid",
        provider: "stripe",
        invoiceRef: "in_1",
        subscriptionRef: "sub_1",
        billingReason: "subscription_cycle",
        paymentRef: null,
        amountMinor: 1000,
        discountMinor: 0,
        currency: "USD",
        paidAtMs: (PERIOD.start + 3600) * 1000,
        periodStartMs: PERIOD.start * 1000,
        periodEndMs: PERIOD.end * 1000,
        metadata: { userId: USER, packageId: "basic" },
        lines: [
          { priceRef: "price_basic", amountMinor: 1000, currency: "USD", quantity: 1, proration: false },
        ],
      },
    });
  });

  it("reads the older shapes (top-level subscription, line price and proration)", () => {
    const old = invoice({
      parent: null,
      subscription: "sub_old",
      subscription_details: { metadata: { user_id: USER, package_id: "basic" } },
      lines: {
        data: [
          line({
            pricing: undefined,
            parent: undefined,
            price: { id: "price_old" },
            proration: true,
            amount: -500,
          }),
          line({ pricing: undefined, parent: undefined, price: { id: "price_new" }, amount: 1500 }),
        ],
        has_more: false,
      },
    });
    const plan = planSubscriptionEvent("invoice.paid", old, PERIOD.start);
    expect(plan).toMatchObject({
      action: "settle_subscription",
      fact: {
        subscriptionRef: "sub_old",
        metadata: { userId: USER },
        lines: [
          { priceRef: "price_old", amountMinor: -500, proration: true },
          { priceRef: "price_new", amountMinor: 1500, proration: false },
        ],
      },
    });
  });

  it("ignores what is no paid subscription invoice, and refuses a line list it cannot see whole", () => {
    const reasonOf = (object: Record<string, unknown>) => {
      const plan = planSubscriptionEvent("invoice.paid", object, PERIOD.start);
      return plan?.action === "ignore" ? plan.reason : plan?.action;
    };
    expect(reasonOf(invoice({ status: "open" }))).toBe("invoice status open");
    expect(reasonOf(invoice({ parent: null }))).toBe("invoice of no subscription");
    expect(reasonOf(invoice({ lines: { data: [line()], has_more: true } }))).toMatch(/more than one page/);
    expect(reasonOf(invoice({ lines: { data: [line({ period: {} })], has_more: false } }))).toMatch(
      /malformed/,
    );
  });
});

describe("customer.subscription.*", () => {
  it("states status, the item's current period, the price and the metadata, dated by the event", () => {
    const subscription = {
      id: "sub_1",
      object: "subscription",
      status: "past_due",
      cancel_at_period_end: true,
      metadata: { user_id: USER, package_id: "basic" },
      items: {
        data: [
          {
            id: "si_1",
            price: { id: "price_basic" },
            current_period_start: PERIOD.start,
            current_period_end: PERIOD.end,
          },
        ],
      },
    };
    expect(planSubscriptionEvent("customer.subscription.updated", subscription, 1_790_000_000)).toEqual({
      action: "settle_subscription",
      fact: {
        kind: "subscription_state",
        provider: "stripe",
        subscriptionRef: "sub_1",
        status: "past_due",
        reportedAtMs: 1_790_000_000_000,
        currentPeriodStartMs: PERIOD.start * 1000,
        currentPeriodEndMs: PERIOD.end * 1000,
        cancelAtPeriodEnd: true,
        priceRef: "price_basic",
        metadata: { userId: USER, packageId: "basic" },
      },
    });
    expect(planSubscriptionEvent("charge.refunded", subscription, 0)).toBeNull();
  });
});
