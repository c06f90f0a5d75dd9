/**
 * One user: a link to their orders, then their subscriptions newest first (plan, status, current period,
 * whether it cancels at the period's end), each with every paid invoice payguard recorded and its grant:
 * what the rule grants and which rule, what was posted and what a reset plan expired, and the grant's order.
 * "Granted below the rule" or "no grant" is what an operator looks for; the repair dry run of the
 * subscription is one click away. Tables stack into labelled rows on a phone.
 */
import type { Child } from "hono/jsx";
import type { SubscriptionInvoiceRow, UserSubscription } from "../../../db/subscription-store.ts";
import { formatAmount, formatCredits } from "../../money.ts";
import { Page, type PageContext } from "../layout.tsx";
import { StatusWord } from "../orders/orders.tsx";
import { repairDryRunHref } from "../orders/search-ref.ts";
import { formatInstant } from "../time.tsx";
import { ruleWords, USER_WORDS, type UserWords } from "./words.ts";

type Props = { ctx: PageContext; w: UserWords };
/** The row as the SQL answers it (`to_jsonb` of the subscription), which also says when it was first seen. */

/** Stripe's statuses by how much they need a look: live and paying, in trouble, or over. */
const STATUS_CLASS: Record<string, string> = {
  active: "ok",
  trialing: "info",
  past_due: "warning",
  unpaid: "warning",
  incomplete: "warning",
};

function Period({ ctx, start, end }: { ctx: PageContext; start: unknown; end: unknown }) {
  if (!start && !end) return <span class="muted">—</span>;
  return (
    <>
      <span class="nowrap">{formatInstant(start, ctx)}</span> →{" "}
      <span class="nowrap">{formatInstant(end, ctx)}</span>
    </>
  );
}

function InvoiceRow({ ctx, w, invoice }: Props & { invoice: SubscriptionInvoiceRow }) {
  const credits = (value: unknown) => formatCredits(Number(value));
  return (
    <tr data-invoice={invoice.invoice_ref}>
      <td data-label={w.invoice} class="nowrap">
        <span class="mono">{invoice.invoice_ref}</span>
      </td>
      <td data-label={w.billingReason}>{w.reasons[invoice.billing_reason] ?? invoice.billing_reason}</td>
      <td data-label={w.period}>
        <Period ctx={ctx} start={invoice.period_start} end={invoice.period_end} />
      </td>
      <td data-label={w.amountPaid} class="num nowrap">
        {formatAmount(Number(invoice.amount_paid_minor), invoice.currency)}
      </td>
      <td data-label={w.creditsByRule} class="num nowrap">
        {credits(invoice.credits)}
      </td>
      <td data-label={w.rule}>{ruleWords(invoice.rule, w)}</td>
      <td data-label={w.granted} class="num nowrap">
        {credits(invoice.granted)}
      </td>
      <td data-label={w.expired} class="num nowrap">
        {credits(invoice.expired)}
      </td>
      <td data-label={w.order}>
        {invoice.order_id ? (
          // The grant's order has the invoice's id: its status is what the link says.
          <a href={`/admin/orders/${encodeURIComponent(invoice.order_id)}`} title={invoice.order_id}>
            <StatusWord ctx={ctx} value={invoice.order_status} />
          </a>
        ) : (
          <span class="muted">{w.noGrant}</span>
        )}
      </td>
    </tr>
  );
}

function Invoices({ ctx, w, subscription }: Props & { subscription: UserSubscription }) {
  if (subscription.invoices.length === 0) return <p class="muted">{w.noInvoices}</p>;
  return (
    <div class="scroll-x">
      <table class="stack" id={`invoices-${subscription.id}`}>
        <tr>
          <th>{w.invoice}</th>
          <th>{w.billingReason}</th>
          <th>{w.period}</th>
          <th class="num">{w.amountPaid}</th>
          <th class="num">{w.creditsByRule}</th>
          <th>{w.rule}</th>
          <th class="num">{w.granted}</th>
          <th class="num">{w.expired}</th>
          <th>{w.order}</th>
        </tr>
        {subscription.invoices.map((invoice) => (
          <InvoiceRow ctx={ctx} w={w} invoice={invoice} />
        ))}
      </table>
    </div>
  );
}

function Subscription({ ctx, w, subscription }: Props & { subscription: UserSubscription }) {
  const facts: Array<[string, Child]> = [
    [w.subscription, <span class="mono">{subscription.id}</span>],
    [
      w.status,
      <span class={["status", STATUS_CLASS[subscription.status]].filter(Boolean).join(" ")}>
        {w.statuses[subscription.status] ?? subscription.status}
      </span>,
    ],
    [
      w.currentPeriod,
      <Period ctx={ctx} start={subscription.current_period_start} end={subscription.current_period_end} />,
    ],
    [w.cancelAtPeriodEnd, subscription.cancel_at_period_end ? w.yes : w.no],
    [w.since, formatInstant(subscription.created_at, ctx)],
  ];
  return (
    <section class="subscription" id={`subscription-${subscription.id}`}>
      <h3>
        {subscription.plan_name} <span class="muted mono">{subscription.package_id}</span>
      </h3>
      <table class="facts kv">
        {facts.map(([label, value]) => (
          <tr>
            <th>{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </table>
      <p>
        <a href={repairDryRunHref(subscription.id)}>{w.checkAtStripe}</a>
      </p>
      <h4>{w.invoices}</h4>
      <Invoices ctx={ctx} w={w} subscription={subscription} />
    </section>
  );
}

export function UserPage(props: { ctx: PageContext; userId: string; subscriptions: UserSubscription[] }) {
  const { ctx, userId, subscriptions } = props;
  const w = USER_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={`${w.user} ${userId}`}>
      <h1>
        {w.user} <span class="mono">{userId}</span>
      </h1>
      <p>
        <a href={`/admin/orders?user=${userId}`} id="user-orders">
          {w.ordersOfUser}
        </a>
      </p>
      <h2>{w.subscriptions}</h2>
      {subscriptions.length === 0 ? (
        <p class="muted" id="no-subscriptions">
          {w.noSubscriptions}
        </p>
      ) : (
        subscriptions.map((subscription) => <Subscription ctx={ctx} w={w} subscription={subscription} />)
      )}
    </Page>
  );
}
