/**
 * Stripe webhook verification with stripe-node's `constructEventAsync` over SubtleCrypto (the sync form
 * does not work on Workers). Each configured secret is tried in turn, so rotating the endpoint secret
 * never drops events. Verification happens before any parsing; a body that fails it is never read.
 */
import Stripe from "stripe";
import type { StripeEventInput } from "./normalise.ts";

export const STRIPE_SIGNATURE_TOLERANCE_S = 300;

export type StripeVerifyFailure = "missing_signature" | "bad_signature" | "malformed_json";
export type StripeVerifyResult =
  | { ok: true; event: StripeEventInput }
  | { ok: false; reason: StripeVerifyFailure };

const cryptoProvider = Stripe.createSubtleCryptoProvider();
// Only the webhook helpers are used from this instance; it never calls the API.
const webhooks = new Stripe("sk_verify_only").webhooks;

export async function verifyStripeEvent(
  rawBody: string,
  signatureHeader: string | null,
  secrets: readonly string[],
  nowMs: number,
): Promise<StripeVerifyResult> {
  if (!signatureHeader) return { ok: false, reason: "missing_signature" };
  for (const secret of secrets) {
    try {
      const event = await webhooks.constructEventAsync(
        rawBody,
        signatureHeader,
        secret,
        STRIPE_SIGNATURE_TOLERANCE_S,
        cryptoProvider,
        nowMs,
      );
      return { ok: true, event: event as unknown as StripeEventInput };
    } catch (error) {
      // The signature matched but the body is not JSON: stop, another secret cannot make it parse.
      if (error instanceof SyntaxError) return { ok: false, reason: "malformed_json" };
    }
  }
  return { ok: false, reason: "bad_signature" };
}
