/**
 * The list behind the band's "paid, not credited": every payment that reached payguard and credits
 * nobody (`payguard.admin_paid_not_credited`), oldest first, each row leading to the order or, for a
 * payment held because its order was never written, to the repair from references.
 */
import { formatAmount } from "../../money.ts";
import type { Row } from "../../store.ts";
import { Page, type PageContext } from "../layout.tsx";
import { MONEY_WORDS } from "../orders/money-words.ts";
import { explainReview } from "../orders/review-reason.ts";
import { ORDER_WORDS } from "../orders/words.ts";
import { SHELL_WORDS } from "../shell-words.ts";
import { When } from "../time.tsx";
import { fill, OVERVIEW_WORDS, type OverviewWords, wordFor } from "./words.ts";

function why(row: Row, w: OverviewWords, ctx: PageContext): string {
  if (row.kind === "held") return w.heldWhy;
  if (row.status === "failed") return w.rejectedWhy;
  return explainReview({ review_reason: row.reason }, MONEY_WORDS[ctx.lang]).reason;
}

function Reference({ row }: { row: Row }) {
  const orderId = typeof row.order_id === "string" ? row.order_id : null;
  const payment = <code>{String(row.payment_ref ?? "")}</code>;
  if (row.kind === "held")
    return (
      <a href="/admin/runbook#repair-form" class="nowrap">
        {payment}
      </a>
    );
  return (
    <span>
      <a href={`/admin/orders/${encodeURIComponent(orderId ?? "")}`} class="nowrap">
        <code>{orderId}</code>
      </a>{" "}
      {payment}
    </span>
  );
}

export function NotCreditedPage({ ctx, rows, limit }: { ctx: PageContext; rows: Row[]; limit: number }) {
  const w = OVERVIEW_WORDS[ctx.lang];
  const statuses = ORDER_WORDS[ctx.lang].status;
  return (
    <Page ctx={ctx} title={w.notCreditedTitle}>
      <h1>{w.notCreditedTitle}</h1>
      <p class="muted">{w.notCreditedHelp}</p>
      {rows.length === 0 ? (
        <p class="calm" id="not-credited-none">
          {w.notCreditedNone}
        </p>
      ) : (
        <table class="stack" id="not-credited">
          <thead>
            <tr>
              <th>{w.what}</th>
              <th>{w.reference}</th>
              <th>{w.status}</th>
              <th>{w.why}</th>
              <th class="num">{w.amount}</th>
              <th>{w.since}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr data-order={String(row.order_id ?? "")}>
                <td data-label={w.what}>{wordFor(w, "kind", row.kind)}</td>
                <td data-label={w.reference}>
                  <Reference row={row} />
                </td>
                <td data-label={w.status}>
                  {row.status ? (
                    <span class={`status ${String(row.status)}`}>
                      {statuses[String(row.status)] ?? String(row.status)}
                    </span>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td data-label={w.why}>{why(row, w, ctx)}</td>
                <td data-label={w.amount} class="num nowrap">
                  {formatAmount(Number(row.amount_minor), String(row.currency))}
                </td>
                <td data-label={w.since} class="when">
                  <When at={row.since} settings={ctx} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.length >= limit && <p class="muted">{fill(w.listCapped, { n: limit })}</p>}
      <p>
        <a href="/admin">{SHELL_WORDS[ctx.lang].backToOverview}</a>
      </p>
    </Page>
  );
}
