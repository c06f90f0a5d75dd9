/**
 * Why an order is in review, in plain words: the settlement SQL records `review_reason` as one English
 * line with minor units (`_flag`, `_derived_review`, `_payment_disagreement`, `_order_from_metadata` in
 * supabase/migrations) and `review_kind` (flag, derived, sold_out). Each known line becomes a sentence
 * in the operator's language with amounts in major units; an unknown one is shown as recorded.
 */
import { formatAmount } from "../../money.ts";
import type { Row } from "../../store.ts";
import { fill, type MoneyWords, providerWord } from "./money-words.ts";

type Explain = (m: string[], w: MoneyWords) => string;

const money = (minor: string | undefined, currency: string | undefined) =>
  formatAmount(Number(minor ?? 0), currency ?? "");

const REASONS: Array<[RegExp, Explain]> = [
  [
    /^payment (\d+) \(\+(\d+) discount\) (\w+) via (\w+) does not match order (\d+) (\w+) via (\w+)/,
    (m, w) =>
      fill(w.reasonMismatch, {
        paid: money(m[1], m[3]),
        provider: providerWord(w, m[4] ?? ""),
        expected: money(m[5], m[6]),
        orderProvider: providerWord(w, m[7] ?? ""),
      }),
  ],
  [
    /^paid twice: refund (\S+) \(keep (\S+)\)/,
    (m, w) => fill(w.reasonPaidTwice, { extra: m[1] ?? "", keep: m[2] ?? "" }),
  ],
  [
    /^refunds of (\d+) (\w+) exceed the (\d+) paid/,
    (m, w) => fill(w.reasonRefundsExceed, { refunded: money(m[1], m[2]), paid: money(m[3], m[2]) }),
  ],
  [
    /^refund (\S+) is not in the order's currency (\w+)/,
    (m, w) => fill(w.reasonForeignRefund, { ref: m[1] ?? "", currency: m[2] ?? "" }),
  ],
  [
    /^paid after it expired, but package (\S+) sold out meanwhile: grant or refund (\S+)/,
    (m, w) => fill(w.reasonSoldOut, { package: m[1] ?? "", ref: m[2] ?? "" }),
  ],
  [
    /^payment names order (\S+) but belongs to order/,
    (m, w) => fill(w.reasonOtherOrder, { claimed: m[1] ?? "" }),
  ],
  [/^payment names user (\S+) but order/, (m, w) => fill(w.reasonOtherUser, { user: m[1] ?? "" })],
  [
    /^payment came through (\S+) but order (\S+) was opened as (\S+)/,
    (m, w) => fill(w.reasonOtherSession, { session: m[1] ?? "", stored: m[3] ?? "" }),
  ],
  [
    /^rebuilt from metadata for inactive package (\S+)/,
    (m, w) => fill(w.reasonInactive, { package: m[1] ?? "" }),
  ],
  [
    /^rebuilt from metadata beyond the stock of package (\S+)/,
    (m, w) => fill(w.reasonBeyondStock, { package: m[1] ?? "" }),
  ],
  [/^notification for another merchant or app/, (_m, w) => w.reasonOtherMerchant],
];

/** The review reason as a sentence, and what the review kind means for the operator. */
export function explainReview(order: Row, w: MoneyWords): { reason: string; kind: string } {
  const raw = typeof order.review_reason === "string" ? order.review_reason : "";
  const known = REASONS.map(([pattern, explain]) => {
    const match = pattern.exec(raw);
    return match ? explain([...match], w) : null;
  }).find((sentence) => sentence !== null);
  const kind =
    order.review_kind === "derived"
      ? w.kindDerived
      : order.review_kind === "sold_out"
        ? w.kindSoldOut
        : w.kindFlag;
  return { reason: known ?? fill(w.reasonUnknown, { raw: raw || "—" }), kind };
}
