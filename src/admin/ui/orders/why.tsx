/**
 * "Why not credited" on an order that is not settled: whether the provider has the payment (payments
 * recorded here, else the last check's answer), the last provider check (time, answer or the failed call's
 * code), the next check, the attempts and the expiry, first as one plain sentence, then as facts. This is
 * what tells a paid order whose checks keep failing from one the customer abandoned. Pure rendering: the
 * language, zone and "now" come from the page context.
 */
import { providerName, reviewReason } from "../../../incidents/text.ts";
import type { Row } from "../../store.ts";
import type { PageContext } from "../layout.tsx";
import { formatRelative, When } from "../time.tsx";
import { ORDER_WORDS, type OrderWords } from "./words.ts";

/** Orders whose money and credits are where they belong: nothing to explain. */
const SETTLED = new Set(["fulfilled", "partially_refunded", "refunded"]);
/** Answers that mean the provider has the money. */
const PAID_OUTCOMES = new Set(["paid", "mismatch"]);

export const isSettled = (order: Row) => SETTLED.has(String(order.status));

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);
const isPast = (value: unknown, nowMs: number) => {
  const ms = Date.parse(String(value));
  return Number.isFinite(ms) && ms <= nowMs;
};

/** The earliest payment the provider reported for this order, of any role. */
function firstPayment(order: Row): Row | null {
  const payments = (order.payments ?? []) as Row[];
  return payments[0] ?? null;
}

function paymentClause(order: Row, ctx: PageContext, w: OrderWords): string {
  const provider = providerName(order.provider, ctx.lang === "zh");
  const payment = firstPayment(order);
  if (payment) return w.paidRecorded(provider, formatRelative(payment.paid_at, ctx));
  if (PAID_OUTCOMES.has(String(order.last_check_outcome)))
    return w.paidByCheck(provider, formatRelative(order.last_check_at, ctx));
  return w.noPaymentSeen(provider);
}

/** The code of "SYSTEM_ERROR: 系统错误", for the sentence (the facts show it whole). */
const errorCode = (error: string) => error.split(": ")[0] ?? error;

function checkClause(order: Row, ctx: PageContext, w: OrderWords): string {
  const at = text(order.last_check_at);
  if (!at) return w.neverChecked;
  const ago = formatRelative(at, ctx);
  const error = text(order.last_check_error);
  if (order.last_check_outcome === "error") return w.checkFailed(ago, errorCode(error ?? "?"));
  const outcome = w.outcome[order.last_check_outcome as keyof OrderWords["outcome"]];
  return w.checkAnswered(ago, outcome ?? String(order.last_check_outcome));
}

function statusClauses(order: Row, ctx: PageContext, w: OrderWords): string[] {
  switch (order.status) {
    case "needs_review":
      return [
        w.heldForReview(reviewReason(order.review_reason, ctx.lang === "zh")),
        checkClause(order, ctx, w),
      ];
    case "expired":
      return [w.statusExpired, checkClause(order, ctx, w)];
    case "failed":
      return [w.statusFailed, checkClause(order, ctx, w)];
    default:
      return [checkClause(order, ctx, w)];
  }
}

function scheduleClauses(order: Row, ctx: PageContext, w: OrderWords): string[] {
  if (order.status !== "pending") return [w.attemptsMade(Number(order.check_attempts ?? 0))];
  const next = text(order.next_check_at);
  const nextClause = !next
    ? w.noNextCheck
    : isPast(next, ctx.nowMs)
      ? w.nextCheckDue
      : w.nextCheckIn(formatRelative(next, ctx));
  const expiry = formatRelative(order.expires_at, ctx);
  return [
    nextClause,
    w.attemptsMade(Number(order.check_attempts ?? 0)),
    isPast(order.expires_at, ctx.nowMs) ? w.expiredAgo(expiry) : w.expiresIn(expiry),
  ];
}

/** "Paid at Stripe 12 min ago, not credited: the last check 3 min ago failed (SYSTEM_ERROR); next check in 2 min; …" */
export function whySentence(order: Row, ctx: PageContext): string {
  const w = ORDER_WORDS[ctx.lang];
  const clauses = [...statusClauses(order, ctx, w), ...scheduleClauses(order, ctx, w)];
  const head = `${paymentClause(order, ctx, w)}${ctx.lang === "zh" ? "，" : ", "}${w.notCreditedBecause}`;
  return ctx.lang === "zh" ? `${head}：${clauses.join("；")}。` : `${head}: ${clauses.join("; ")}.`;
}

function PaidFact({ ctx, order, w }: { ctx: PageContext; order: Row; w: OrderWords }) {
  const payment = firstPayment(order);
  if (payment)
    return (
      <span>
        {`${w.yes} · `}
        <When at={payment.paid_at} settings={ctx} />{" "}
        <span class="mono nowrap">{String(payment.payment_ref)}</span>
      </span>
    );
  if (PAID_OUTCOMES.has(String(order.last_check_outcome))) return <span>{`${w.yes} (${w.lastCheck})`}</span>;
  // A failed check says nothing about the payment.
  const known = order.last_check_at && order.last_check_outcome !== "error";
  return <span>{known ? w.no : w.unknown}</span>;
}

function LastCheckFact({ ctx, order, w }: { ctx: PageContext; order: Row; w: OrderWords }) {
  if (!order.last_check_at) return <span class="muted">{w.notChecked}</span>;
  const outcome = w.outcome[order.last_check_outcome as keyof OrderWords["outcome"]];
  return (
    <span>
      <When at={order.last_check_at} settings={ctx} />
      {" · "}
      <strong id="last-check-outcome">{outcome ?? String(order.last_check_outcome)}</strong>
      {order.last_check_error ? <code id="last-check-error"> {String(order.last_check_error)}</code> : null}
    </span>
  );
}

export function WhyNotCredited({ ctx, order }: { ctx: PageContext; order: Row }) {
  if (isSettled(order)) return null;
  const w = ORDER_WORDS[ctx.lang];
  const pending = order.status === "pending";
  return (
    <section id="why-not-credited">
      <h2>{w.whyTitle}</h2>
      <p id="why-sentence" class={order.last_check_outcome === "error" ? "flash bad" : "flash"}>
        {whySentence(order, ctx)}
      </p>
      <table class="facts">
        <tr>
          <th>{w.paidAtProvider}</th>
          <td id="why-paid">
            <PaidFact ctx={ctx} order={order} w={w} />
          </td>
        </tr>
        <tr>
          <th>{w.lastCheck}</th>
          <td id="why-last-check">
            <LastCheckFact ctx={ctx} order={order} w={w} />
          </td>
        </tr>
        {pending && (
          <tr>
            <th>{w.nextCheck}</th>
            <td id="why-next-check">
              {order.next_check_at ? (
                <When at={order.next_check_at} settings={ctx} />
              ) : (
                <span class="muted">{w.noMoreChecks}</span>
              )}
            </td>
          </tr>
        )}
        <tr>
          <th>{w.attempts}</th>
          <td id="why-attempts">{String(order.check_attempts ?? 0)}</td>
        </tr>
        <tr>
          <th>{w.expires}</th>
          <td id="why-expires">
            <When at={order.expires_at} settings={ctx} />
          </td>
        </tr>
        {order.status === "needs_review" && (
          <tr>
            <th>{w.reviewReason}</th>
            <td>
              {reviewReason(order.review_reason, ctx.lang === "zh")}{" "}
              <code>{String(order.review_reason ?? "")}</code>
            </td>
          </tr>
        )}
      </table>
    </section>
  );
}
