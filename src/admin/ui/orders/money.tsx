/**
 * The order page's actions panel: for an order in review its reason and decision come first (`#review`),
 * then any extra payment to refund (`#refund-extra`), then the everyday actions: sync, expire a pending
 * order, refund the credited payment (major units, prefilled with what is left), repair the grant or
 * the balance. Everything that moves money or credits leads to a confirmation page
 * (src/admin/ui/orders/money-actions.tsx); nothing here acts on its own.
 */
import { primaryPayment } from "../../order-money.ts";
import type { Row } from "../../store.ts";
import { ActionForm, type PageContext, ReasonInput } from "../layout.tsx";
import { MONEY_WORDS, type MoneyWords } from "./money-words.ts";
import { RefundForm } from "./refund-form.tsx";
import { ExtraPayments, ReviewSection } from "./review.tsx";

/** States in which the credited payment may be refunded (actions.ts `refund` checks the same). */
const REFUNDABLE = new Set(["fulfilled", "partially_refunded"]);

function SimpleAction(props: {
  ctx: PageContext;
  action: string;
  id: string;
  label: string;
  kind?: string;
  tone?: "danger" | "quiet";
}) {
  return (
    <ActionForm ctx={props.ctx} action={props.action} id={props.id}>
      {props.kind && <input type="hidden" name="kind" value={props.kind} />}
      <ReasonInput ctx={props.ctx} />
      <button type="submit" class={props.tone}>
        {props.label}
      </button>
    </ActionForm>
  );
}

function Everyday({ ctx, w, order }: { ctx: PageContext; w: MoneyWords; order: Row }) {
  const { t } = ctx;
  const base = `/admin/orders/${order.id}`;
  const primary = primaryPayment(order);
  return (
    <div class="actions" id="order-actions">
      <SimpleAction ctx={ctx} action={`${base}/sync`} id="action-sync" label={t.sync} />
      {order.status === "pending" && (
        <SimpleAction ctx={ctx} action={`${base}/expire`} id="action-expire" label={t.expire} tone="danger" />
      )}
      {primary && REFUNDABLE.has(String(order.status)) && (
        <div id="refund" class="refund-block">
          <h3>{w.refundTitle}</h3>
          <RefundForm
            ctx={ctx}
            w={w}
            orderId={String(order.id)}
            payment={primary}
            id="action-refund"
            label={w.refundNext}
          />
        </div>
      )}
      <SimpleAction
        ctx={ctx}
        action={`${base}/repair`}
        id="action-repair-grant"
        kind="grant"
        label={t.repairGrant}
        tone="quiet"
      />
      <SimpleAction
        ctx={ctx}
        action={`${base}/repair`}
        id="action-repair-balance"
        kind="balance"
        label={t.repairBalance}
        tone="quiet"
      />
    </div>
  );
}

export function OrderActions({ ctx, order }: { ctx: PageContext; order: Row }) {
  const w = MONEY_WORDS[ctx.lang];
  return (
    <div class="money">
      {order.status === "needs_review" && <ReviewSection ctx={ctx} w={w} order={order} />}
      <ExtraPayments ctx={ctx} w={w} order={order} />
      <h2>{ctx.t.actions}</h2>
      <Everyday ctx={ctx} w={w} order={order} />
    </div>
  );
}
