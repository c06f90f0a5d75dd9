/** One order: facts, action buttons, and everything that happened to it, oldest first. */
import type { Row } from "../../store.ts";
import {
  ActionForm,
  fmtMoney,
  fmtTime,
  Page,
  type PageContext,
  ReasonInput,
  StatusBadge,
} from "../layout.tsx";

const json = (value: unknown) => JSON.stringify(value ?? {});

function Actions({ ctx, order }: { ctx: PageContext; order: Row }) {
  const { t } = ctx;
  const base = `/admin/orders/${order.id}`;
  const paid = order.status === "fulfilled" || order.status === "partially_refunded";
  return (
    <div class="actions">
      <ActionForm ctx={ctx} action={`${base}/sync`} id="action-sync">
        <ReasonInput ctx={ctx} />
        <button type="submit">{t.sync}</button>
      </ActionForm>
      {order.status === "pending" && (
        <ActionForm ctx={ctx} action={`${base}/expire`} id="action-expire">
          <ReasonInput ctx={ctx} />
          <button type="submit" class="danger">
            {t.expire}
          </button>
        </ActionForm>
      )}
      {paid && (
        <ActionForm ctx={ctx} action={`${base}/refund`} id="action-refund">
          <input name="amount_minor" type="number" min={1} placeholder={t.refundAmount} size={30} />
          <ReasonInput ctx={ctx} />
          <button type="submit" class="danger">
            {t.refund}
          </button>
        </ActionForm>
      )}
      <ActionForm ctx={ctx} action={`${base}/repair`} id="action-repair-grant">
        <input type="hidden" name="kind" value="grant" />
        <ReasonInput ctx={ctx} />
        <button type="submit" class="quiet">
          {t.repairGrant}
        </button>
      </ActionForm>
      <ActionForm ctx={ctx} action={`${base}/repair`} id="action-repair-balance">
        <input type="hidden" name="kind" value="balance" />
        <ReasonInput ctx={ctx} />
        <button type="submit" class="quiet">
          {t.repairBalance}
        </button>
      </ActionForm>
      {order.status === "needs_review" && (
        <ActionForm ctx={ctx} action={`${base}/resolve-review`} id="action-review">
          <select name="resolution">
            <option value="fulfil">{t.fulfil}</option>
            <option value="reject">{t.reject}</option>
          </select>
          <ReasonInput ctx={ctx} />
          <button type="submit">{t.resolveReview}</button>
        </ActionForm>
      )}
    </div>
  );
}

/** A section table; columns labelled "at" hold a time and never wrap. */
function Rows(props: {
  ctx: PageContext;
  rows: Row[];
  columns: Array<[string, (row: Row) => unknown]>;
  id: string;
}) {
  if (props.rows.length === 0) return <p class="muted">{props.ctx.t.none}</p>;
  return (
    <table id={props.id}>
      <tr>
        {props.columns.map(([label]) => (
          <th>{label}</th>
        ))}
      </tr>
      {props.rows.map((row) => (
        <tr>
          {props.columns.map(([label, cell]) => (
            <td class={label === "at" ? "when" : undefined}>{cell(row) as string}</td>
          ))}
        </tr>
      ))}
    </table>
  );
}

export function OrderPage({ ctx, order }: { ctx: PageContext; order: Row }) {
  const { t } = ctx;
  const balance = (order.balance ?? {}) as { stored: number | null; ledger_sum: number };
  const rows = (key: string) => (order[key] ?? []) as Row[];
  return (
    <Page ctx={ctx} title={String(order.id)}>
      <h1>
        <span class="mono">{String(order.id)}</span> <StatusBadge value={order.status} />
      </h1>
      <table>
        <tr>
          <th>{t.provider}</th>
          <td>{String(order.provider)}</td>
          <th>{t.amount}</th>
          <td id="order-amount">{fmtMoney(order.amount_minor, order.currency)}</td>
        </tr>
        <tr>
          <th>{t.user}</th>
          <td class="mono">{String(order.user_id)}</td>
          <th>{t.credits}</th>
          <td>{String(order.credits)}</td>
        </tr>
        <tr>
          <th>provider_ref</th>
          <td class="mono">{String(order.provider_ref ?? "")}</td>
          <th>payment_ref</th>
          <td class="mono">{String(order.payment_ref ?? "")}</td>
        </tr>
        <tr>
          <th>{t.created}</th>
          <td>{fmtTime(order.created_at)}</td>
          <th>{t.balance}</th>
          <td id="order-balance">{`${balance.stored ?? 0} / ${balance.ledger_sum}`}</td>
        </tr>
      </table>
      <h2>{t.actions}</h2>
      <Actions ctx={ctx} order={order} />
      <h2>{t.timeline}</h2>
      <Rows
        ctx={ctx}
        id="timeline"
        rows={rows("timeline")}
        columns={[
          ["at", (r) => fmtTime(r.at)],
          ["kind", (r) => <strong>{String(r.kind)}</strong>],
          ["source", (r) => String(r.source ?? "")],
          [t.detail, (r) => <code>{json(r.detail)}</code>],
        ]}
      />
      <h2>{t.ledger}</h2>
      <Rows
        ctx={ctx}
        id="ledger"
        rows={rows("ledger")}
        columns={[
          ["kind", (r) => String(r.kind)],
          [t.credits, (r) => String(r.credits)],
          ["refund_ref", (r) => String(r.refund_ref ?? "")],
          ["note", (r) => String(r.note ?? "")],
          ["at", (r) => fmtTime(r.created_at)],
        ]}
      />
      <h2>{t.refunds}</h2>
      <Rows
        ctx={ctx}
        id="refunds"
        rows={rows("refunds")}
        columns={[
          ["refund_ref", (r) => String(r.refund_ref)],
          [t.amount, (r) => fmtMoney(r.amount_minor, order.currency)],
          [t.credits, (r) => String(-Number(r.credits_clawed_back))],
          ["at", (r) => fmtTime(r.applied_at)],
        ]}
      />
      <h2>{t.eventsReceived}</h2>
      <Rows
        ctx={ctx}
        id="events"
        rows={rows("events")}
        columns={[
          ["event_id", (r) => String(r.event_id)],
          ["type", (r) => String(r.event_type)],
          [t.status, (r) => <StatusBadge value={r.status} />],
          ["at", (r) => fmtTime(r.received_at)],
        ]}
      />
      <h2>{t.incidents}</h2>
      <Rows
        ctx={ctx}
        id="order-incidents"
        rows={rows("incidents")}
        columns={[
          ["kind", (r) => String(r.kind)],
          [t.status, (r) => <StatusBadge value={r.status} />],
          [t.summary, (r) => String(r.summary)],
        ]}
      />
      <h2>{t.adminActions}</h2>
      <Rows
        ctx={ctx}
        id="admin-actions"
        rows={rows("actions")}
        columns={[
          ["at", (r) => fmtTime(r.at)],
          ["actor", (r) => String(r.actor)],
          ["action", (r) => String(r.action)],
          [t.reason, (r) => String(r.reason)],
          ["outcome", (r) => String(r.outcome)],
        ]}
      />
    </Page>
  );
}
