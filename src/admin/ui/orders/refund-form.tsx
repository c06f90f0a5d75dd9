/**
 * The refund form of one payment: the amount in major units with its currency, prefilled with what is
 * left to refund on that payment (paid minus its succeeded refunds). It only leads to the confirmation
 * page; the server converts the amount to minor units and checks it again.
 */
import { formatAmount, majorFieldValue, minorDigits } from "../../money.ts";
import type { OrderPayment } from "../../order-money.ts";
import { ActionForm, type PageContext, ReasonInput } from "../layout.tsx";
import { fill, type MoneyWords } from "./money-words.ts";

/** What the browser may let through before the server checks: digits, and at most the currency's decimals. */
const amountPattern = (currency: string) => {
  const digits = minorDigits(currency);
  return digits === 0 ? "\\d+" : `\\d+(\\.\\d{1,${digits}})?`;
};

export function RefundForm(props: {
  ctx: PageContext;
  w: MoneyWords;
  orderId: string;
  payment: OrderPayment;
  id: string;
  label: string;
}) {
  const { ctx, w, payment } = props;
  if (payment.remainingMinor === 0) return <p class="muted">{w.nothingLeft}</p>;
  const { currency } = payment;
  return (
    <ActionForm ctx={ctx} action={`/admin/orders/${props.orderId}/refund`} id={props.id}>
      {!payment.primary && <input type="hidden" name="payment" value={payment.ref} />}
      <label class="field">
        {fill(w.amountIn, { currency })}
        <span class="amount">
          <input
            name="amount"
            inputmode={minorDigits(currency) === 0 ? "numeric" : "decimal"}
            required
            pattern={amountPattern(currency)}
            value={majorFieldValue(payment.remainingMinor, currency)}
          />
          <span class="nowrap">{currency}</span>
        </span>
      </label>
      <ReasonInput ctx={ctx} />
      <button type="submit" class="danger">
        {props.label}
      </button>
      <p class="muted help">
        {fill(w.refundDefault, {
          remaining: formatAmount(payment.remainingMinor, currency),
          paid: formatAmount(payment.amountMinor, currency),
        })}
      </p>
    </ActionForm>
  );
}
