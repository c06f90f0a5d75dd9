/**
 * The order page's buttons: each POST runs the same action as the admin API, attributed to the signed-in
 * operator. Refund, repair and review decisions move money or credits: the first POST renders a
 * confirmation that says what will move (amounts in major units, credits from the order's grant and the
 * settlement's proportional clawback, the user's balance before and after), and only the second POST,
 * with confirm=1, acts. What cannot be done (a bad amount, more than is left, a decision the order's
 * state does not allow, a server error) is a page in plain words, nothing changed.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { Hono } from "hono";
import type { z } from "zod";
import { getDeps } from "../../../deps.ts";
import {
  type ActionFailure,
  type ActionResult,
  expire,
  refund,
  repair,
  resolveReview,
  syncOrder,
  syncOrders,
} from "../../actions.ts";
import { actionContext, ORDER_ID } from "../../http.ts";
import { formatAmount, majorFieldValue, minorDigits, type ParsedAmount, parseMajor } from "../../money.ts";
import {
  balanceRepairMove,
  fulfilPayment,
  grantRepairMove,
  type OrderPayment,
  orderPayments,
  refundMove,
  resolutionMove,
} from "../../order-money.ts";
import { reasonOnly, refundForm, repairInput, resolveReviewInput, syncMany } from "../../schemas.ts";
import type { Row } from "../../store.ts";
import { confirmFirst, isConfirmed, refusedPage } from "../confirm-first.tsx";
import { backWith, type DashboardEnv, langFor } from "../context.ts";
import { WORDS } from "../i18n.ts";
import { explainFailure } from "./explain-failure.ts";
import { balancePart, movesLine, refundLine, SEPARATOR } from "./money-lines.ts";
import { fill, MONEY_WORDS, type MoneyWords, statusWord } from "./money-words.ts";

type C = Context<DashboardEnv>;

const REFUNDABLE = new Set(["fulfilled", "partially_refunded"]);
const FAILURE_STATUS = { not_found: 404, conflict: 409, unavailable: 503, misconfigured: 503 } as const;
const FIELD_WORDS: Record<string, keyof MoneyWords> = {
  reason: "fieldReason",
  amount: "fieldAmount",
  resolution: "fieldResolution",
  payment: "fieldPayment",
  kind: "fieldKind",
};

const words = (c: Context) => MONEY_WORDS[langFor(c)];
const orderId = (c: Context) => ORDER_ID.safeParse(c.req.param("id")).data ?? "";
const orderPath = (c: Context) => (orderId(c) ? `/admin/orders/${orderId(c)}` : "/admin/orders");

/** Form validation whose refusal is a page naming the missing fields (400), nothing done. */
function moneyForm<T extends z.ZodType>(schema: T) {
  return zValidator("form", schema, async (result, c: Context) => {
    if (result.success) return;
    const w = words(c);
    const names = new Set(result.error.issues.map((issue) => String(issue.path[0] ?? "input")));
    const fields = [...names].map((name) => (FIELD_WORDS[name] ? w[FIELD_WORDS[name]] : name)).join(", ");
    return refusedPage(c, orderPath(c), fill(w.invalidForm, { fields }), 400);
  });
}

async function loadDetail(c: C): Promise<Row | Response> {
  const detail = await getDeps(c.env).admin.orderDetail(orderId(c));
  if (!detail.ok) return refusedPage(c, orderPath(c), words(c).unavailable, 503);
  return detail.value ?? c.notFound();
}

const refused = (c: C, failure: ActionFailure, currency = "") =>
  refusedPage(c, orderPath(c), explainFailure(failure, words(c), currency), FAILURE_STATUS[failure.kind]);

function finish(c: C, result: ActionResult, currency = ""): Response | Promise<Response> {
  if (result.ok) return backWith(c, orderPath(c), { ok: true, outcome: result.outcome });
  return refused(c, result.error, currency);
}

function amountRefusal(
  parsed: ParsedAmount,
  text: string,
  payment: OrderPayment,
  w: MoneyWords,
): string | null {
  const { currency } = payment;
  if (parsed.ok && parsed.minor <= payment.remainingMinor) return null;
  if (parsed.ok || parsed.problem === "too_large") {
    return fill(w.overRemaining, {
      amount: `${text} ${currency}`,
      remaining: formatAmount(payment.remainingMinor, currency),
      paid: formatAmount(payment.amountMinor, currency),
    });
  }
  if (parsed.problem === "zero") return w.amountZero;
  if (parsed.problem === "precision")
    return fill(w.amountPrecision, { currency, digits: minorDigits(currency), text });
  return fill(w.amountFormat, { currency, example: majorFieldValue(payment.remainingMinor || 1, currency) });
}

const refundRoute = async (c: C, form: z.infer<typeof refundForm>) => {
  const detail = await loadDetail(c);
  if (detail instanceof Response) return detail;
  const w = words(c);
  const payment = orderPayments(detail).find((p) => (form.payment ? p.ref === form.payment : p.primary));
  if (!payment)
    return refusedPage(c, orderPath(c), fill(w.notFound, { what: form.payment ?? w.payment }), 404);
  if (payment.primary && !REFUNDABLE.has(String(detail.status))) {
    return refusedPage(
      c,
      orderPath(c),
      fill(w.orderState, { status: statusWord(w, String(detail.status)) }),
      409,
    );
  }
  // The confirmation previewed one state of the payment; a refund recorded since makes it stale.
  if ((await isConfirmed(c)) && form.seen !== payment.refundedMinor) {
    return refusedPage(c, orderPath(c), w.changedSince, 409);
  }
  const parsed = parseMajor(form.amount, payment.currency);
  const problem = amountRefusal(parsed, form.amount, payment, w);
  if (problem || !parsed.ok) return refusedPage(c, orderPath(c), problem ?? w.amountZero, 400);
  const { currency } = payment;
  const fields = {
    reason: form.reason,
    amount: majorFieldValue(parsed.minor, currency),
    seen: String(payment.refundedMinor),
    ...(form.payment ? { payment: form.payment } : {}),
  };
  const confirm = await confirmFirst(
    c,
    orderPath(c),
    refundLine(payment, parsed.minor, refundMove(detail, payment, parsed.minor), w),
    fields,
    [
      [w.order, orderId(c)],
      [w.payment, payment.ref],
      [w.leftAfter, formatAmount(payment.remainingMinor - parsed.minor, currency)],
      [WORDS[langFor(c)].reason, form.reason],
    ],
  );
  if (confirm) return confirm;
  const ctx = actionContext(c, form.reason);
  return finish(
    c,
    await refund(ctx, orderId(c), parsed.minor, payment.primary ? null : payment.ref),
    currency,
  );
};

const reviewRoute = async (c: C, form: z.infer<typeof resolveReviewInput>) => {
  const detail = await loadDetail(c);
  if (detail instanceof Response) return detail;
  const w = words(c);
  if (detail.status !== "needs_review") {
    return refusedPage(
      c,
      orderPath(c),
      fill(w.orderState, { status: statusWord(w, String(detail.status)) }),
      409,
    );
  }
  const move = resolutionMove(detail, form.resolution);
  const keep = fulfilPayment(detail);
  if (!move) return refusedPage(c, orderPath(c), w.noFulfilPayment, 409);
  const what =
    form.resolution === "fulfil" && keep
      ? fill(w.fulfilLine, {
          order: orderId(c),
          ref: keep.ref,
          amount: formatAmount(keep.amountMinor, keep.currency),
        })
      : fill(w.rejectLine, { order: orderId(c) });
  const fields = { reason: form.reason, resolution: form.resolution };
  const confirm = await confirmFirst(c, orderPath(c), movesLine(what, move, w), fields, [
    [w.order, orderId(c)],
  ]);
  if (confirm) return confirm;
  return finish(c, await resolveReview(actionContext(c, form.reason), orderId(c), form.resolution));
};

const repairRoute = async (c: C, form: z.infer<typeof repairInput>) => {
  const detail = await loadDetail(c);
  if (detail instanceof Response) return detail;
  const w = words(c);
  const summary =
    form.kind === "grant"
      ? movesLine(w.grantLine, grantRepairMove(detail), w)
      : [w.balanceRepairLine, balancePart(balanceRepairMove(detail), w)].join(SEPARATOR);
  const confirm = await confirmFirst(c, orderPath(c), summary, { reason: form.reason, kind: form.kind }, [
    [w.order, orderId(c)],
  ]);
  if (confirm) return confirm;
  return finish(c, await repair(actionContext(c, form.reason), orderId(c), form.kind));
};

export const moneyActions = new Hono<DashboardEnv>()
  .use("/orders/:id/*", async (c, next) => (orderId(c) ? next() : c.notFound()))
  .post("/orders/sync", moneyForm(syncMany), async (c) => {
    const { reason, ...filter } = c.req.valid("form");
    const synced = await syncOrders(actionContext(c, reason), filter);
    if (!synced.ok) return refused(c, synced.error);
    const fulfilled = synced.results.filter((r) => r.outcome === "fulfilled").length;
    const outcome = fill(words(c).syncedMany, { synced: synced.results.length, fulfilled });
    return backWith(c, "/admin/orders", { ok: true, outcome });
  })
  .post("/orders/:id/sync", moneyForm(reasonOnly), async (c) =>
    finish(c, await syncOrder(actionContext(c, c.req.valid("form").reason), orderId(c))),
  )
  .post("/orders/:id/expire", moneyForm(reasonOnly), async (c) =>
    finish(c, await expire(actionContext(c, c.req.valid("form").reason), orderId(c))),
  )
  .post("/orders/:id/refund", moneyForm(refundForm), (c) => refundRoute(c, c.req.valid("form")))
  .post("/orders/:id/repair", moneyForm(repairInput), (c) => repairRoute(c, c.req.valid("form")))
  .post("/orders/:id/resolve-review", moneyForm(resolveReviewInput), (c) =>
    reviewRoute(c, c.req.valid("form")),
  );
