/**
 * What the Stripe modules need from configuration: the parsed Stripe settings (src/env.ts builds them)
 * and Stripe's bounds on a Checkout Session's `expires_at`, which the checkout's order TTL is checked
 * against. A leaf (it imports only ledger types), so configuration and the Stripe client never import
 * each other.
 */
import type { DisputePolicy } from "../../ledger/types.ts";

export interface StripeConfig {
  secretKey: string;
  /** Current secret first; the previous one is accepted during rotation. */
  webhookSecrets: string[];
  /** Empty = api.stripe.com; otherwise a sandbox such as http://127.0.0.1:12111. */
  apiBase: string;
  /** What a chargeback does to the order's credits (`DISPUTE_POLICY`): src/ledger/types.ts DisputePolicy. */
  disputePolicy: DisputePolicy;
}

/** Stripe accepts `expires_at` from 30 minutes to 24 hours after the session is created. */
export const STRIPE_SESSION_EXPIRY_MIN_S = 30 * 60;
export const STRIPE_SESSION_EXPIRY_MAX_S = 24 * 60 * 60;
