/**
 * Server errors as sentences an operator can act on: an action's failure (kind + the store's or the
 * provider's detail) becomes one line in the page's language ("This order is fulfilled now, so this
 * action does not apply to it.") instead of "conflict: resolve_review: …". The detail is kept only where
 * it is the provider's own refusal or names the incident to open.
 */
import type { ActionFailure } from "../../actions.ts";
import { formatAmount } from "../../money.ts";
import { fill, type MoneyWords, statusWord } from "./money-words.ts";

const ORDER_STATE = /order is (\w+)/;
const NO_FULFIL_PAYMENT = /no recorded payment of its amount/;
const OVER_REMAINING = /exceeds the (\d+) left to refund/;

export function explainFailure(error: ActionFailure, w: MoneyWords, currency = ""): string {
  const { detail } = error;
  switch (error.kind) {
    case "not_found":
      return fill(w.notFound, { what: detail });
    case "unavailable":
      return w.unavailable;
    case "misconfigured":
      return fill(w.misconfigured, { detail });
    case "conflict": {
      const state = ORDER_STATE.exec(detail);
      if (state?.[1]) return fill(w.orderState, { status: statusWord(w, state[1]) });
      if (NO_FULFIL_PAYMENT.test(detail)) return w.noFulfilPayment;
      const over = OVER_REMAINING.exec(detail);
      if (over?.[1]) {
        const remaining = formatAmount(Number(over[1]), currency);
        return Number(over[1]) === 0 ? w.nothingLeft : fill(w.moreThanLeft, { remaining });
      }
      return fill(w.conflict, { detail });
    }
  }
}
