/**
 * The orders list: filters (status, provider, days in the operator's zone, pending orders whose last check
 * failed), paging, the "sync the pending ones" button, and a table whose ids, amounts and times never wrap
 * and which stacks into labelled rows on a phone. A search for a provider reference that matches nothing
 * here says so and offers the runbook's repair dry run for it.
 */
import { providerName } from "../../../incidents/text.ts";
import { formatAmount } from "../../money.ts";
import { ORDER_CHECK_FILTERS, ORDER_STATUSES } from "../../schemas.ts";
import type { OrderSearch, Row } from "../../store.ts";
import { ActionForm, Page, type PageContext, ReasonInput } from "../layout.tsx";
import { formatInstant, formatRelative } from "../time.tsx";
import { repairDryRunHref, searchRefKind } from "./search-ref.ts";
import { ORDER_WORDS, type OrderWords } from "./words.ts";

const PROVIDERS = ["stripe", "wechatpay"] as const;
/** A user id in the list: its first characters, a link to that user's orders (the whole id as its title). */
const USER_ID_SHOWN_CHARS = 8;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_ONLY_LENGTH = 10;

function pageLink(search: OrderSearch, offset: number): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...search, offset })) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  return `/admin/orders?${params}`;
}

export const StatusWord = ({ ctx, value }: { ctx: PageContext; value: unknown }) => (
  <span class={`status ${String(value)} nowrap`}>
    {ORDER_WORDS[ctx.lang].status[String(value)] ?? String(value)}
  </span>
);

/**
 * A time in a list cell: the absolute time never breaks, its age may go to the next line, so a narrow
 * column stays narrow.
 */
export function ListTime({ ctx, at }: { ctx: PageContext; at: unknown }) {
  const absolute = formatInstant(at, ctx);
  if (!absolute) return <span class="muted">—</span>;
  return (
    <time datetime={new Date(String(at)).toISOString()}>
      <span class="nowrap">{absolute}</span>{" "}
      <span class="muted nowrap">{`· ${formatRelative(at, ctx)}`}</span>
    </time>
  );
}

/** A filter bound as the date field shows it: its day in the operator's zone (links may carry a timestamp). */
const dayOf = (value: string | undefined, ctx: PageContext) =>
  !value ? "" : DATE_ONLY.test(value) ? value : formatInstant(value, ctx).slice(0, DATE_ONLY_LENGTH);

/** The zone's short name ("GMT+8"), so a date filter says which midnight it means. */
const zoneName = (ctx: PageContext) => formatInstant(ctx.nowMs, ctx).split(" ").at(-1) ?? ctx.timeZone;

function Filters({ ctx, search, w }: { ctx: PageContext; search: OrderSearch; w: OrderWords }) {
  const { t } = ctx;
  const zone = zoneName(ctx);
  return (
    <form method="get" action="/admin/orders" class="filters" id="order-filters">
      <label>
        {t.query}
        <input name="q" value={search.q ?? ""} size={28} placeholder={w.searchHint} />
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
              {w.status[s] ?? s}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.provider}
        <select name="provider">
          <option value="">{t.any}</option>
          {PROVIDERS.map((p) => (
            <option value={p} selected={search.provider === p}>
              {providerName(p, ctx.lang === "zh")}
            </option>
          ))}
        </select>
      </label>
      <label>
        {w.checkFilter}
        <select name="check">
          <option value="">{t.any}</option>
          {ORDER_CHECK_FILTERS.map((f) => (
            <option value={f} selected={search.check === f}>
              {w.checkFailedOnly}
            </option>
          ))}
        </select>
      </label>
      <label>
        {`${t.from} (${zone})`}
        <input type="date" name="from" value={dayOf(search.from, ctx)} />
      </label>
      <label>
        {`${t.to} (${zone})`}
        <input type="date" name="to" value={dayOf(search.to, ctx)} />
      </label>
      <button type="submit">{t.search}</button>
    </form>
  );
}

/** Nothing here under a reference the provider may have: say so, and offer the repair dry run. */
function NotRecorded({ query, w }: { query: string; w: OrderWords }) {
  const kind = searchRefKind(query);
  if (!kind) return null;
  return (
    <div class="flash bad" id="search-fallback">
      <p>
        {w.notRecorded(query)} {w.notRecordedKind(w[`ref_${kind}`])}
      </p>
      {kind === "stripe_charge" ? (
        <p>{w.chargeNeedsIntent}</p>
      ) : (
        <p>
          <a href={repairDryRunHref(query)} id="repair-dry-run">
            {w.repairDryRun}
          </a>
        </p>
      )}
    </div>
  );
}

function LastCheck({ order, w }: { order: Row; w: OrderWords }) {
  if (!order.last_check_outcome) return <span class="muted">—</span>;
  const outcome = w.outcome[order.last_check_outcome as keyof OrderWords["outcome"]] ?? "";
  // The code alone ("SYSTEM_ERROR"): the order page has the status and the message.
  const error = typeof order.last_check_error === "string" ? order.last_check_error.split(/[ :]/)[0] : "";
  return <span class={order.last_check_outcome === "error" ? "status error" : ""}>{error || outcome}</span>;
}

function OrderRow({ ctx, order, w }: { ctx: PageContext; order: Row; w: OrderWords }) {
  const { t } = ctx;
  const currency = String(order.currency);
  const refunded = Number(order.refunded_minor ?? 0);
  return (
    <tr>
      <td data-label={t.id} class="nowrap">
        <a href={`/admin/orders/${order.id}`} class="mono">
          {String(order.id)}
        </a>
      </td>
      <td data-label={t.provider}>{providerName(order.provider, ctx.lang === "zh")}</td>
      <td data-label={t.status}>
        <StatusWord ctx={ctx} value={order.status} />
      </td>
      <td data-label={t.amount} class="num nowrap">
        {formatAmount(Number(order.amount_minor), currency)}
      </td>
      <td data-label={w.package} class="nowrap">
        {String(order.package_id ?? "")}
      </td>
      <td data-label={w.paidAt}>
        <ListTime ctx={ctx} at={order.paid_at} />
      </td>
      <td data-label={w.refunded} class="num nowrap">
        {refunded > 0 ? formatAmount(refunded, currency) : <span class="muted">—</span>}
      </td>
      <td data-label={t.credits} class="num">
        {String(order.credits)}
      </td>
      <td data-label={w.lastCheckColumn} class="nowrap">
        <LastCheck order={order} w={w} />
      </td>
      <td data-label={t.user} class="nowrap">
        <a href={`/admin/orders?user=${order.user_id}`} class="mono" title={String(order.user_id)}>
          {`${String(order.user_id).slice(0, USER_ID_SHOWN_CHARS)}…`}
        </a>
      </td>
      <td data-label={t.created}>
        <ListTime ctx={ctx} at={order.created_at} />
      </td>
    </tr>
  );
}

function OrdersTable({ ctx, orders, w }: { ctx: PageContext; orders: Row[]; w: OrderWords }) {
  const { t } = ctx;
  return (
    <div class="scroll-x">
      <table id="orders" class="stack">
        <tr>
          <th>{t.id}</th>
          <th class="nowrap">{t.provider}</th>
          <th class="nowrap">{t.status}</th>
          <th class="num nowrap">{t.amount}</th>
          <th class="nowrap">{w.package}</th>
          <th>{w.paidAt}</th>
          <th class="num nowrap">{w.refunded}</th>
          <th class="num nowrap">{t.credits}</th>
          <th>{w.lastCheckColumn}</th>
          <th class="nowrap">{t.user}</th>
          <th>{t.created}</th>
        </tr>
        {orders.map((order) => (
          <OrderRow ctx={ctx} order={order} w={w} />
        ))}
      </table>
    </div>
  );
}

export function OrdersPage(props: { ctx: PageContext; search: OrderSearch; total: number; orders: Row[] }) {
  const { ctx, search, total, orders } = props;
  const { t } = ctx;
  const w = ORDER_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={t.orders}>
      <h1>{t.orders}</h1>
      <Filters ctx={ctx} search={search} w={w} />
      {search.user && (
        <p>
          <a href={`/admin/users/${search.user}`} id="user-page">
            {w.userPage}
          </a>
        </p>
      )}
      <ActionForm ctx={ctx} action="/admin/orders/sync" id="sync-filtered">
        <input type="hidden" name="provider" value={search.provider ?? ""} />
        <input type="hidden" name="from" value={search.from ?? ""} />
        <input type="hidden" name="to" value={search.to ?? ""} />
        <ReasonInput ctx={ctx} />
        <button type="submit" class="quiet">
          {t.syncFiltered}
        </button>
      </ActionForm>
      {total === 0 && search.q ? <NotRecorded query={search.q} w={w} /> : null}
      {orders.length > 0 && <OrdersTable ctx={ctx} orders={orders} w={w} />}
      {orders.length === 0 && <p class="muted">{t.none}</p>}
      <p class="muted">
        {`${orders.length === 0 ? 0 : search.offset + 1}–${search.offset + orders.length} / ${total} ${t.total}`}{" "}
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
