/**
 * One order: its facts, why it is not credited (when it is not settled), the actions panel (money.tsx),
 * the timeline as readable rows, the provider payments recorded for it, and everything else that happened
 * to it (ledger, refunds, provider events, incidents, operator actions), oldest first. Every table stacks
 * into labelled rows on a phone; times are in the operator's zone with their age.
 */
import type { Child } from "hono/jsx";
import { incidentTitle } from "../../../incidents/catalogue.ts";
import { providerName } from "../../../incidents/text.ts";
import { formatAmount } from "../../money.ts";
import type { Row } from "../../store.ts";
import { Page, type PageContext, StatusBadge } from "../layout.tsx";
import { When } from "../time.tsx";
import { OrderActions } from "./money.tsx";
import { StatusWord } from "./orders.tsx";
import { Timeline } from "./timeline.tsx";
import { WhyNotCredited } from "./why.tsx";
import { ORDER_WORDS, type OrderWords } from "./words.ts";

type Column = [label: string, cell: (row: Row) => Child, nowrap?: boolean];

/** A section table; each cell carries its column's label for the stacked phone layout. */
function Rows(props: { ctx: PageContext; rows: Row[]; columns: Column[]; id: string }) {
  if (props.rows.length === 0) return <p class="muted">{props.ctx.t.none}</p>;
  return (
    <table id={props.id} class="stack">
      <tr>
        {props.columns.map(([label]) => (
          <th>{label}</th>
        ))}
      </tr>
      {props.rows.map((row) => (
        <tr>
          {props.columns.map(([label, cell, nowrap]) => (
            <td data-label={label} class={nowrap ? "nowrap" : undefined}>
              {cell(row)}
            </td>
          ))}
        </tr>
      ))}
    </table>
  );
}

type SectionProps = { ctx: PageContext; order: Row; w: OrderWords };

/** An id or reference in a table cell: one line. */
const mono = (value: unknown) => <span class="mono nowrap">{String(value ?? "")}</span>;
/** An id among the facts: may wrap on a phone rather than widen the page. */
const monoFact = (value: unknown) => <span class="mono">{String(value ?? "")}</span>;

function Facts({ ctx, order, w }: SectionProps) {
  const { t } = ctx;
  const balance = (order.balance ?? {}) as { stored: number | null; ledger_sum: number };
  const currency = String(order.currency);
  const facts: Array<[string, Child, string?]> = [
    [t.provider, providerName(order.provider, ctx.lang === "zh")],
    [
      t.amount,
      <span class="nowrap">{formatAmount(Number(order.amount_minor), currency)}</span>,
      "order-amount",
    ],
    [w.package, String(order.package_id ?? "")],
    [t.credits, String(order.credits)],
    [
      t.user,
      <a href={`/admin/users/${String(order.user_id)}`} id="order-user">
        {monoFact(order.user_id)}
      </a>,
    ],
    ["provider_ref", monoFact(order.provider_ref)],
    ["payment_ref", monoFact(order.payment_ref)],
    [w.paidAt, <When at={order.paid_at} settings={ctx} />],
    [w.refunded, <span class="nowrap">{formatAmount(Number(order.refunded_minor ?? 0), currency)}</span>],
    [t.created, <When at={order.created_at} settings={ctx} />],
    [t.balance, `${balance.stored ?? 0} / ${balance.ledger_sum}`, "order-balance"],
  ];
  return (
    <table class="facts" id="order-facts">
      {facts.map(([label, value, id]) => (
        <tr>
          <th>{label}</th>
          <td id={id}>{value}</td>
        </tr>
      ))}
    </table>
  );
}

const rowsOf = (order: Row, key: string) => (order[key] ?? []) as Row[];
const at = (ctx: PageContext, value: unknown) => <When at={value} settings={ctx} />;

/** The money: payments the provider reported, ledger entries, refunds. */
function MoneyHistory({ ctx, order, w }: SectionProps) {
  const { t } = ctx;
  return (
    <>
      <h2>{w.providerPayments}</h2>
      <Rows
        ctx={ctx}
        id="payments"
        rows={rowsOf(order, "payments")}
        columns={[
          [w.paymentRef, (r) => mono(r.payment_ref)],
          [w.role, (r) => w[`role_${String(r.role)}` as keyof OrderWords] as string],
          [t.amount, (r) => formatAmount(Number(r.amount_minor), String(r.currency)), true],
          [w.paidAt, (r) => at(ctx, r.paid_at), true],
        ]}
      />
      <h2>{t.ledger}</h2>
      <Rows
        ctx={ctx}
        id="ledger"
        rows={rowsOf(order, "ledger")}
        columns={[
          [w.kind, (r) => w.ledgerKind[String(r.kind)] ?? String(r.kind)],
          [t.credits, (r) => String(r.credits), true],
          ["refund_ref", (r) => mono(r.refund_ref)],
          [w.summary, (r) => String(r.note ?? "")],
          [w.time, (r) => at(ctx, r.created_at), true],
        ]}
      />
      <h2>{t.refunds}</h2>
      <Rows
        ctx={ctx}
        id="refunds"
        rows={rowsOf(order, "refunds")}
        columns={[
          ["refund_ref", (r) => mono(r.refund_ref)],
          [t.amount, (r) => formatAmount(Number(r.amount_minor), String(r.currency ?? order.currency)), true],
          [t.credits, (r) => String(-Number(r.credits_clawed_back)), true],
          [w.time, (r) => at(ctx, r.applied_at), true],
        ]}
      />
    </>
  );
}

/** What reached us and who did what: provider events, incidents, operator actions. */
function OtherHistory({ ctx, order, w }: SectionProps) {
  const { t } = ctx;
  return (
    <>
      <h2>{t.eventsReceived}</h2>
      <Rows
        ctx={ctx}
        id="events"
        rows={rowsOf(order, "events")}
        columns={[
          ["event_id", (r) => mono(r.event_id)],
          [w.kind, (r) => String(r.event_type)],
          [t.status, (r) => <StatusBadge value={r.status} />],
          [w.time, (r) => at(ctx, r.received_at), true],
        ]}
      />
      <h2>{t.incidents}</h2>
      <Rows
        ctx={ctx}
        id="order-incidents"
        rows={rowsOf(order, "incidents")}
        columns={[
          [
            w.kind,
            (r) => <a href={`/admin/incidents/${encodeURIComponent(String(r.key))}`}>{String(r.kind)}</a>,
          ],
          [t.status, (r) => <StatusBadge value={r.status} />],
          [
            t.summary,
            (r) =>
              incidentTitle(
                String(r.kind),
                (r.detail ?? {}) as Record<string, unknown>,
                String(r.summary),
                ctx.lang,
              ),
          ],
        ]}
      />
      <h2>{t.adminActions}</h2>
      <Rows
        ctx={ctx}
        id="admin-actions"
        rows={rowsOf(order, "actions")}
        columns={[
          [w.time, (r) => at(ctx, r.at), true],
          [w.field.actor ?? "actor", (r) => String(r.actor)],
          [t.action, (r) => String(r.action)],
          [t.reason, (r) => <span class="mono">{String(r.reason)}</span>],
          [w.field.outcome ?? "outcome", (r) => String(r.outcome)],
        ]}
      />
    </>
  );
}

export function OrderPage({ ctx, order }: { ctx: PageContext; order: Row }) {
  const w = ORDER_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={String(order.id)}>
      <h1>
        <span class="mono">{String(order.id)}</span> <StatusWord ctx={ctx} value={order.status} />
      </h1>
      <Facts ctx={ctx} order={order} w={w} />
      <WhyNotCredited ctx={ctx} order={order} />
      <OrderActions ctx={ctx} order={order} />
      <h2>{ctx.t.timeline}</h2>
      <Timeline ctx={ctx} order={order} />
      <MoneyHistory ctx={ctx} order={order} w={w} />
      <OtherHistory ctx={ctx} order={order} w={w} />
    </Page>
  );
}
