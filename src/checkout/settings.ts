/**
 * Checkout configuration, parsed from the Worker env with each problem named by its variable. Stripe
 * Checkout needs the app's success and cancel pages; without them Stripe checkout is simply not offered
 * (a deployment whose app creates its own sessions still runs). The per-user limits of the public API
 * come with it (src/checkout/limits.ts).
 */

import { STRIPE_SESSION_EXPIRY_MAX_S, STRIPE_SESSION_EXPIRY_MIN_S } from "../providers/stripe/settings.ts";
import { type PublicLimits, parsePublicLimits } from "./limits.ts";

/** Time allowed between writing the order and Stripe creating its session, so `expires_at` stays valid. */
export const CHECKOUT_SESSION_LEAD_S = 120;
export const CHECKOUT_ORDER_TTL_MIN_S = STRIPE_SESSION_EXPIRY_MIN_S + CHECKOUT_SESSION_LEAD_S;
export const CHECKOUT_ORDER_TTL_MAX_S = STRIPE_SESSION_EXPIRY_MAX_S;
export const CHECKOUT_ORDER_TTL_DEFAULT_S = 60 * 60;
export const CHECKOUT_SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}";

export interface CheckoutConfig {
  /** How long an order (and its provider session / prepay) stays payable. */
  orderTtlS: number;
  /** null: Stripe Checkout is not offered by this deployment. */
  stripe: { successUrl: string; cancelUrl: string; allowPromotionCodes: boolean } | null;
  /** Per-user limits of checkout and of the success page's provider queries. */
  limits: PublicLimits;
}

type RawEnv = Record<string, unknown>;
const text = (env: RawEnv, name: string): string =>
  typeof env[name] === "string" ? (env[name] as string).trim() : "";

function parseTtl(env: RawEnv, problems: string[]): number {
  const raw = text(env, "CHECKOUT_ORDER_TTL_S");
  if (!raw) return CHECKOUT_ORDER_TTL_DEFAULT_S;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < CHECKOUT_ORDER_TTL_MIN_S || value > CHECKOUT_ORDER_TTL_MAX_S) {
    problems.push(
      `CHECKOUT_ORDER_TTL_S must be whole seconds from ${CHECKOUT_ORDER_TTL_MIN_S} to ${CHECKOUT_ORDER_TTL_MAX_S}`,
    );
  }
  return value;
}

function parseUrl(env: RawEnv, name: string, problems: string[]): string {
  const value = text(env, name);
  if (!value) problems.push(`${name} is missing (CHECKOUT_SUCCESS_URL and CHECKOUT_CANCEL_URL go together)`);
  else if (!URL.canParse(value.replaceAll(/[{}]/g, ""))) problems.push(`${name} is not a valid URL`);
  return value;
}

export function parseCheckoutConfig(env: RawEnv, problems: string[]): CheckoutConfig {
  const orderTtlS = parseTtl(env, problems);
  const limits = parsePublicLimits(env, problems);
  const promotion = text(env, "CHECKOUT_ALLOW_PROMOTION_CODES");
  if (promotion && promotion !== "true" && promotion !== "false") {
    problems.push("CHECKOUT_ALLOW_PROMOTION_CODES must be true or false");
  }
  if (!text(env, "CHECKOUT_SUCCESS_URL") && !text(env, "CHECKOUT_CANCEL_URL"))
    return { orderTtlS, stripe: null, limits };
  const successUrl = parseUrl(env, "CHECKOUT_SUCCESS_URL", problems);
  const cancelUrl = parseUrl(env, "CHECKOUT_CANCEL_URL", problems);
  if (successUrl && !successUrl.includes(CHECKOUT_SESSION_ID_PLACEHOLDER)) {
    problems.push(`CHECKOUT_SUCCESS_URL must contain ${CHECKOUT_SESSION_ID_PLACEHOLDER}`);
  }
  return {
    orderTtlS,
    stripe: { successUrl, cancelUrl, allowPromotionCodes: promotion === "true" },
    limits,
  };
}
