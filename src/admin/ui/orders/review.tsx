/**
 * The review part of the order page (anchor `#review`): the reason first, in plain words, then the
 * decision with nothing preselected, offering only what the order's facts allow (no "fulfil" without a
 * payment of the order's amount, and why). Below it (anchor `#refund-extra`) every payment of the order
 * that is not the credited one, each with its own refund form while money is left on it. Incident pages link
 * to both anchors.
 */
import { formatAmount } from "../../money.ts";
import { extraPayments, fulfilPayment, type OrderPayment } from "../../order-money.ts";
import type { Row } from "../../store.ts";
import { ActionForm, type PageContext, ReasonInput } from "../layout.tsx";
import { When } from "../time.tsx";
import { fill, type MoneyWords } from "./money-words.ts";
import { RefundForm } from "./refund-form.tsx";
import { explainReview } from "./review-reason.ts";

type Props = { ctx: PageContext; w: MoneyWords; order: Row };

function Decision({ ctx, w, order }: Props) {
  const keep = fulfilPayment(order);
  const amount = formatAmount(Number(order.amount_minor), String(order.currency));
  return (
    <ActionForm ctx={ctx} action={`/admin/orders/${order.id}/resolve-review`} id="action-review">
      <fieldset class="choices">
        <legend>{w.decideTitle}</legend>
        <p class="muted">{w.decideHelp}</p>
        {keep ? (
          <label>
            <input type="radio" name="resolution" value="fulfil" required />{" "}
            {fill(w.fulfilOption, { ref: keep.ref, amount: formatAmount(keep.amountMinor, keep.currency) })}
          </label>
        ) : (
          <p id="fulfil-not-offered">{fill(w.fulfilNotOffered, { amount })}</p>
        )}
        <label>
          <input type="radio" name="resolution" value="reject" required /> {w.rejectOption}
        </label>
      </fieldset>
      <ReasonInput ctx={ctx} />
      <button type="submit">{w.continue}</button>
    </ActionForm>
  );
}

export function ReviewSection({ ctx, w, order }: Props) {
  const { reason, kind } = explainReview(order, w);
  return (
    <section id="review" class="review">
      <h2>{w.reviewTitle}</h2>
      <p class="reason" id="review-reason">
        {reason}
      </p>
      <p class="muted">{kind}</p>
      <details>
        <summary class="muted">{w.reasonRecorded}</summary>
        <code>{String(order.review_reason ?? "")}</code>
      </details>
      <Decision ctx={ctx} w={w} order={order} />
    </section>
  );
}

const ROLE_WORDS: Record<string, keyof MoneyWords> = {
  second: "roleSecond",
  mismatch: "roleMismatch",
  disputed: "roleDisputed",
};

function ExtraPayment(props: Props & { payment: OrderPayment; index: number }) {
  const { ctx, w, payment } = props;
  const role = ROLE_WORDS[payment.role];
  return (
    <div class="extra-payment" data-payment={payment.ref}>
      <p>
        <code>{payment.ref}</code> ·{" "}
        <strong class="nowrap">{formatAmount(payment.amountMinor, payment.currency)}</strong> ·{" "}
        {role ? w[role] : payment.role} · {w.paidAt} <When at={payment.paidAt} settings={ctx} /> ·{" "}
        {w.leftToRefund} <span class="nowrap">{formatAmount(payment.remainingMinor, payment.currency)}</span>
      </p>
      <RefundForm
        ctx={ctx}
        w={w}
        orderId={String(props.order.id)}
        payment={payment}
        id={`action-refund-extra-${props.index}`}
        label={w.refundThis}
      />
    </div>
  );
}

/** Nothing when the order has no payment but the credited one. */
export function ExtraPayments({ ctx, w, order }: Props) {
  const extras = extraPayments(order);
  if (extras.length === 0) return null;
  return (
    <section id="refund-extra" class="review">
      <h2>{w.extraTitle}</h2>
      {extras.map((payment, index) => (
        <ExtraPayment ctx={ctx} w={w} order={order} payment={payment} index={index} />
      ))}
    </section>
  );
}
