/**
 * The checkout request body and the idempotency key header, validated before anything is written.
 * The body hash binds an `Idempotency-Key` to one request: same key, other body → 409. A Stripe request
 * without `flow` is a Checkout Session; `flow: "payment_intent"` is a PaymentIntent for the Payment Element.
 */
import { z } from "zod";
import { sha256Hex } from "../hex.ts";

export const IDEMPOTENCY_KEY_MAX_CHARS = 255;
const PACKAGE_ID = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
/** WeChat openids are 28 characters today; allow some room, never arbitrary text. */
const OPENID = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

export const checkoutBodySchema = z.discriminatedUnion("provider", [
  z.strictObject({
    packageId: PACKAGE_ID,
    provider: z.literal("stripe"),
    // Optional, never defaulted: a body without it hashes as it always did, so stored keys still replay.
    flow: z.literal("payment_intent").optional(),
  }),
  z.discriminatedUnion("tradeType", [
    z.strictObject({
      packageId: PACKAGE_ID,
      provider: z.literal("wechatpay"),
      tradeType: z.literal("native"),
    }),
    z.strictObject({
      packageId: PACKAGE_ID,
      provider: z.literal("wechatpay"),
      tradeType: z.literal("jsapi"),
      openid: OPENID,
    }),
  ]),
]);

export type CheckoutRequest = z.infer<typeof checkoutBodySchema>;

const KEY_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_CHARS}}$`);

/** undefined header → null key; a present but malformed one is refused (never silently ignored). */
export function parseIdempotencyKey(
  header: string | undefined,
): { ok: true; key: string | null } | { ok: false } {
  if (header === undefined) return { ok: true, key: null };
  return KEY_PATTERN.test(header) ? { ok: true, key: header } : { ok: false };
}

/** SHA-256 hex over the validated body with its keys in a fixed order. */
export async function requestHash(request: CheckoutRequest): Promise<string> {
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(request).sort(([a], [b]) => a.localeCompare(b))),
  );
  return sha256Hex(canonical);
}
