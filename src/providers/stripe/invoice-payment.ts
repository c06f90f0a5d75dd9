/**
 * The PaymentIntent that paid an invoice. Since API version 2025-03-31 an invoice no longer names it: its
 * payments are `invoice_payment` objects, listed by invoice. Refunds and disputes of a renewal name only the
 * PaymentIntent, so the grant must carry it to be found by them.
 */
import type Stripe from "stripe";
import { err, type InfraError, ok, type Result } from "../../ledger/result.ts";
import { toInfraError } from "./client.ts";
import { idOf } from "./plan-parts.ts";

/** An invoice is paid by one payment in practice; a page this size holds every attempt of a retried one. */
const INVOICE_PAYMENTS_PAGE = 20;

/** The paid PaymentIntent of the invoice, or null when it was paid otherwise (a credit balance, out of band). */
export async function invoicePaymentRef(
  stripe: Stripe,
  invoiceRef: string,
): Promise<Result<string | null, InfraError>> {
  try {
    const payments = await stripe.invoicePayments.list({ invoice: invoiceRef, limit: INVOICE_PAYMENTS_PAGE });
    const paid = payments.data.find(
      (payment) => payment.status === "paid" && payment.payment.type === "payment_intent",
    );
    return ok(paid ? idOf(paid.payment.payment_intent) : null);
  } catch (error) {
    return err(toInfraError(error));
  }
}
