import { describe, expect, it } from "vitest";
import { DEFAULT_PUBLIC_LIMITS } from "../../../src/checkout/limits.ts";
import { parseCheckoutConfig } from "../../../src/checkout/settings.ts";
import {
  checkoutSessionParams,
  sessionExpiryProblem,
  stripeIdempotencyKey,
} from "../../../src/providers/stripe/checkout-session.ts";
import { pendingOrder, TEST_NOW_MS } from "../../support/node/orders.ts";

const NOW_MS = TEST_NOW_MS;
const order = pendingOrder();
const settings = {
  successUrl: "https://app.example/paid?order={ORDER_ID}&session_id={CHECKOUT_SESSION_ID}",
  cancelUrl: "https://app.example/cancelled?order={ORDER_ID}",
  allowPromotionCodes: false,
};

describe("Stripe Checkout Session for an order", () => {
  it("links the session to the order every way the webhook path looks for it", () => {
    const params = checkoutSessionParams({ order, productName: "100 credits", settings });
    const metadata = { order_id: order.id, user_id: order.userId, package_id: "credits_100" };
    expect(params).toMatchObject({
      mode: "payment",
      client_reference_id: order.id,
      metadata,
      payment_intent_data: { metadata },
      expires_at: Math.floor(order.expiresAtMs / 1000),
      line_items: [
        {
          quantity: 1,
          price_data: { currency: "usd", unit_amount: 1999, product_data: { name: "100 credits" } },
        },
      ],
      success_url: `https://app.example/paid?order=${order.id}&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `https://app.example/cancelled?order=${order.id}`,
    });
    expect(params).not.toHaveProperty("allow_promotion_codes");
    expect(stripeIdempotencyKey(order.id)).toBe(`payguard-checkout-${order.id}`);
  });

  it("allows promotion codes only when configured", () => {
    const params = checkoutSessionParams({
      order,
      productName: "x",
      settings: { ...settings, allowPromotionCodes: true },
    });
    expect(params.allow_promotion_codes).toBe(true);
  });

  it("refuses an expiry Stripe would refuse: under 30 minutes or over 24 hours ahead", () => {
    expect(sessionExpiryProblem(order, NOW_MS)).toBeNull();
    expect(sessionExpiryProblem(order, NOW_MS + 31 * 60_000)).toMatch(/30 minutes/);
    expect(sessionExpiryProblem({ ...order, expiresAtMs: NOW_MS + 25 * 3_600_000 }, NOW_MS)).toMatch(
      /24 hours/,
    );
  });
});

describe("checkout configuration", () => {
  const parse = (env: Record<string, string>) => {
    const problems: string[] = [];
    return { config: parseCheckoutConfig(env, problems), problems };
  };

  it("offers no Stripe Checkout without success and cancel URLs, and defaults the order TTL", () => {
    expect(parse({})).toEqual({
      config: { orderTtlS: 3600, stripe: null, limits: DEFAULT_PUBLIC_LIMITS },
      problems: [],
    });
  });

  it("names each bad variable", () => {
    const { problems } = parse({
      CHECKOUT_SUCCESS_URL: "https://app.example/paid",
      CHECKOUT_ORDER_TTL_S: "600",
      CHECKOUT_ALLOW_PROMOTION_CODES: "yes",
    });
    expect(problems).toEqual([
      expect.stringContaining("CHECKOUT_ORDER_TTL_S"),
      expect.stringContaining("CHECKOUT_ALLOW_PROMOTION_CODES"),
      expect.stringContaining("CHECKOUT_CANCEL_URL is missing"),
      expect.stringContaining("{CHECKOUT_SESSION_ID}"),
    ]);
  });

  it("reads a complete Stripe checkout setup", () => {
    const { config, problems } = parse({
      CHECKOUT_SUCCESS_URL: settings.successUrl,
      CHECKOUT_CANCEL_URL: settings.cancelUrl,
      CHECKOUT_ALLOW_PROMOTION_CODES: "true",
      CHECKOUT_ORDER_TTL_S: "7200",
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      orderTtlS: 7200,
      stripe: { ...settings, allowPromotionCodes: true },
      limits: DEFAULT_PUBLIC_LIMITS,
    });
  });
});
