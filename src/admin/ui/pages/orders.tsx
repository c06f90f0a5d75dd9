/** Orders table with filters and paging, and the "sync the pending ones" button. */
import { ORDER_STATUSES } from "../../schemas.ts";
import type { OrderSearch, Row } from "../../store.ts";
import {
  ActionForm,
  fmtMoney,
  fmtTime,
  Page,
  type PageContext,
  ReasonInput,
  StatusBadge,
} from "../layout.tsx";

function pageLink(search: OrderSearch, offset: number): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...search, offset })) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  return `/admin/orders?${params}`;
}

function Filters({ ctx, search }: { ctx: PageContext; search: OrderSearch }) {
  const { t } = ctx;
  return (
    <form method="get" action="/admin/orders" class="filters" id="order-filters">
      <label>
        {t.query}
        <input name="q" value={search.q ?? ""} size={28} />
      </label>
      <label>
        {t.user}
        <input name="user" value={search.user ?? ""} size={36} />
      </label>
      <label>
        {t.status}
        <select name="status">
          <option value="">{t.any}</option>
          {ORDER_STATUSES.map((s) => (
            <option value={s} selected={search.status === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.provider}
        <select name="provider">
          <option value="">{t.any}</option>
          {["stripe", "wechatpay"].map((p) => (
            <option value={p} selected={search.provider === p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.from}
        <input type="date" name="from" value={search.from ?? ""} />
      </label>
      <label>
        {t.to}
        <input type="date" name="to" value={search.to ?? ""} />
      </label>
      <button type="submit">{t.search}</button>
    </form>
  );
}

export function OrdersPage(props: { ctx: PageContext; search: OrderSearch; total: number; orders: Row[] }) {
  const { ctx, search, total, orders } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t.orders}>
      <h1>{t.orders}</h1>
      <Filters ctx={ctx} search={search} />
      <ActionForm ctx={ctx} action="/admin/orders/sync" id="sync-filtered">
        <input type="hidden" name="provider" value={search.provider ?? ""} />
        <input type="hidden" name="from" value={search.from ?? ""} />
        <input type="hidden" name="to" value={search.to ?? ""} />
        <ReasonInput ctx={ctx} />
        <button type="submit" class="quiet">
          {t.syncFiltered}
        </button>
      </ActionForm>
      <table id="orders">
        <tr>
          <th>{t.id}</th>
          <th>{t.provider}</th>
          <th>{t.status}</th>
          <th class="num">{t.amount}</th>
          <th class="num">{t.credits}</th>
          <th>{t.user}</th>
          <th>{t.created}</th>
        </tr>
        {orders.map((o) => (
          <tr>
            <td>
              <a href={`/admin/orders/${o.id}`} class="mono">
                {String(o.id)}
              </a>
            </td>
            <td>{String(o.provider)}</td>
            <td>
              <StatusBadge value={o.status} />
            </td>
            <td class="num">{fmtMoney(o.amount_minor, o.currency)}</td>
            <td class="num">{String(o.credits)}</td>
            <td class="mono">{String(o.user_id)}</td>
            <td>{fmtTime(o.created_at)}</td>
          </tr>
        ))}
      </table>
      {orders.length === 0 && <p class="muted">{t.none}</p>}
      <p class="muted">
        {`${search.offset + 1}–${search.offset + orders.length} / ${total} ${t.total}`}{" "}
        {search.offset > 0 && (
          <a href={pageLink(search, Math.max(0, search.offset - search.limit))}>{t.previous}</a>
        )}{" "}
        {search.offset + orders.length < total && (
          <a href={pageLink(search, search.offset + search.limit)}>{t.next}</a>
        )}
      </p>
    </Page>
  );
}
