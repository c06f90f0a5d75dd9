/**
 * What the Stripe event planners (normalise.ts for sessions, refunds and disputes; intent-plan.ts for the
 * PaymentIntents payguard creates) share: narrowing `unknown` field by field, the order metadata a payment
 * carries, and how long an async payment may stay in flight. Pure.
 */
import type { OrderMetadata } from "../../ledger/types.ts";

/**
 * How long an order keeps its stock while an async payment method is in flight (a Checkout Session
 * completed `unpaid`, a PaymentIntent `processing`), counted from when it started. Stripe's slowest
 * documented delayed notification method is SEPA Direct Debit: "up to 14 business days to receive
 * notification on the success or failure" (https://docs.stripe.com/payments/sepa-debit); 14 business days
 * are at most 20 calendar days, plus a day for bank holidays.
 */
export const ASYNC_PAYMENT_WAIT_MS = 21 * 24 * 60 * 60 * 1000;

export type Obj = Record<string, unknown>;
export const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);
export const str = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;
export const int = (value: unknown): number | null =>
  Number.isSafeInteger(value) ? (value as number) : null;
/** An id, whether the field holds it or the expanded object does. */
export const idOf = (value: unknown): string | null => str(value) ?? (isObj(value) ? str(value.id) : null);

/** What a payment object says about the order it pays (its metadata, a session's client_reference_id). */
export function metadataOf(object: Obj): OrderMetadata | undefined {
  const metadata = isObj(object.metadata) ? object.metadata : {};
  const fields: OrderMetadata = {
    userId: str(metadata.user_id) ?? undefined,
    packageId: str(metadata.package_id) ?? undefined,
    orderId: str(metadata.order_id) ?? undefined,
    clientReferenceId: str(object.client_reference_id) ?? undefined,
  };
  const present = Object.entries(fields).filter(([, value]) => value !== undefined);
  return present.length ? (Object.fromEntries(present) as OrderMetadata) : undefined;
}
