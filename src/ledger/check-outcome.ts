/**
 * What one provider check of an order found, in the fixed set `payment_orders.last_check_outcome` accepts
 * (migration 20261206000100): the operator reads it to tell a payment we failed to credit from an order the
 * customer abandoned. A failed call keeps its code and a short message, never a secret or payer data.
 */
import type { InfraError } from "./result.ts";
import type { PaymentFact } from "./types.ts";

export const CHECK_OUTCOMES = [
  "paid",
  "processing",
  "confirming",
  "unpaid",
  "not_found",
  "closed",
  "failed",
  "mismatch",
  "error",
] as const;

export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

/** The column's limit (characters); the database cuts longer text too. */
export const CHECK_ERROR_MAX = 200;

/** WeChat's answer for an order never opened there (the customer never scanned the code). */
export const NOT_AT_PROVIDER_STATE = "ORDER_NOT_EXIST";
/** The limiter gave up after repeated 429s: the provider was asked but never answered. */
export const RATE_LIMITED_CODE = "RATE_LIMITED";

const CONFIRMING_STATES = new Set(["USERPAYING"]);

/** The outcome a provider's answer stands for; the kinds that carry a payment are `paid`. */
export function checkOutcomeOf(fact: PaymentFact): CheckOutcome {
  switch (fact.kind) {
    case "paid":
    case "refunded":
    case "refund_failed":
    case "disputed":
      return "paid";
    case "awaiting_payment":
      return "processing";
    case "expired":
      return "closed";
    case "failed":
      return "failed";
    case "mismatch":
      return "mismatch";
    case "pending":
      if (fact.providerState === NOT_AT_PROVIDER_STATE) return "not_found";
      if (fact.providerState && CONFIRMING_STATES.has(fact.providerState)) return "confirming";
      return "unpaid";
  }
}

/** Anything shaped like a Stripe or webhook secret, should a provider message ever echo one. */
const SECRET_SHAPE = /\b(?:sk|rk|whsec)_[A-Za-z0-9_*]+/g;

/**
 * `CODE (HTTP 500): message`, cut to CHECK_ERROR_MAX: the code first (what the console's sentence shows),
 * the HTTP status when the provider answered one, the message unless it only repeats the code.
 */
export function checkErrorText(error: Pick<InfraError, "code" | "message"> & { status?: number }): string {
  const message = error.message.replace(SECRET_SHAPE, "[redacted]").replace(/\s+/g, " ").trim();
  const code = error.status ? `${error.code} (HTTP ${error.status})` : error.code;
  const text = message && message !== error.code ? `${code}: ${message}` : code;
  return text.slice(0, CHECK_ERROR_MAX);
}
