/**
 * The one line a money confirmation leads with, in the page's language: what moves, of how much, and
 * what it does to credits and the user's balance ("Refund 49.50 of 99.00 USD · −600 of 1,200 credits ·
 * balance 16,850 → 16,250"). Pure: the numbers come from order-money.ts.
 */
import { formatCredits, formatMajor } from "../../money.ts";
import type { CreditsMove, OrderPayment } from "../../order-money.ts";
import { fill, type MoneyWords } from "./money-words.ts";

export const SEPARATOR = " · ";

export function creditsPart(move: CreditsMove, w: MoneyWords): string {
  if (move.deltaCredits === 0) return w.creditsUnchanged;
  return fill(w.creditsLine, {
    delta: formatCredits(move.deltaCredits, true),
    credits: formatCredits(move.orderCredits),
  });
}

export const balancePart = (move: CreditsMove, w: MoneyWords) =>
  fill(w.balanceLine, { before: formatCredits(move.balanceBefore), after: formatCredits(move.balanceAfter) });

/** "Refund 49.50 of 99.00 USD · −600 of 1,200 credits · balance 16,850 → 16,250". */
export function refundLine(payment: OrderPayment, amountMinor: number, move: CreditsMove, w: MoneyWords) {
  const head = fill(w.refundLine, {
    amount: formatMajor(amountMinor, payment.currency),
    paid: formatMajor(payment.amountMinor, payment.currency),
    currency: payment.currency,
  });
  return [head, creditsPart(move, w), balancePart(move, w)].join(SEPARATOR);
}

/** "<what> · +100 of 100 credits · balance 0 → 100". */
export const movesLine = (what: string, move: CreditsMove, w: MoneyWords) =>
  [what, creditsPart(move, w), balancePart(move, w)].join(SEPARATOR);
