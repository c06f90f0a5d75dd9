/**
 * The checks of refunds, refund failures and disputes: each compares what payguard recorded (refund
 * and dispute rows, ledger rows keyed by their ids, the order's net credits and status) with what the
 * sandbox says happened (./facts.ts). Each names the orders it fails for, so the run explains them.
 */
import type { BenchStack } from "../lib/stack.ts";
import type { Check } from "./checks.ts";
import {
  expectedCredits,
  expectedStatus,
  type ProviderFacts,
  type ProviderRefund,
  succeededMinor,
} from "./facts.ts";
import type { Tracked } from "./orders.ts";

/** What payguard holds about one order. */
export interface Books {
  status: string;
  credits: number;
  /** Sum of the order's ledger rows. */
  net: number;
  refunds: Map<string, { amountMinor: number; status: string; clawed: number | null }>;
  disputes: Map<string, { amountMinor: number; state: string }>;
  /** Ledger rows per `kind:refund_ref` / `kind:dispute_ref`. */
  rowsByRef: Map<string, number>;
}

export async function readBooks(stack: BenchStack, orderIds: string[]): Promise<Map<string, Books>> {
  const [orders, ledger, refunds, disputes] = await Promise.all([
    stack.standIn.query<{ id: string; status: string; credits: number }>(
      "select id, status, credits::int from payguard.payment_orders where id = any($1)",
      [orderIds],
    ),
    stack.standIn.query<{ order_id: string; kind: string; ref: string | null; n: number; credits: number }>(
      `select order_id, kind, coalesce(refund_ref, dispute_ref) as ref, count(*)::int as n, sum(credits)::int as credits
         from payguard.credit_ledger where order_id = any($1) group by 1, 2, 3`,
      [orderIds],
    ),
    stack.standIn.query<{
      order_id: string;
      refund_ref: string;
      amount_minor: number;
      status: string;
      credits_clawed_back: number | null;
    }>(
      `select order_id, refund_ref, amount_minor::int, status, credits_clawed_back::int
         from payguard.payment_refunds where order_id = any($1)`,
      [orderIds],
    ),
    stack.standIn.query<{ order_id: string; dispute_ref: string; amount_minor: number; state: string }>(
      "select order_id, dispute_ref, amount_minor::int, state from payguard.payment_disputes where order_id = any($1)",
      [orderIds],
    ),
  ]);
  const books = new Map<string, Books>();
  for (const o of orders)
    books.set(o.id, {
      status: o.status,
      credits: o.credits,
      net: 0,
      refunds: new Map(),
      disputes: new Map(),
      rowsByRef: new Map(),
    });
  for (const row of ledger) {
    const b = books.get(row.order_id);
    if (!b) continue;
    b.net += row.credits;
    if (row.ref) b.rowsByRef.set(`${row.kind}:${row.ref}`, row.n);
  }
  for (const r of refunds)
    books.get(r.order_id)?.refunds.set(r.refund_ref, {
      amountMinor: r.amount_minor,
      status: r.status,
      clawed: r.credits_clawed_back,
    });
  for (const d of disputes)
    books.get(d.order_id)?.disputes.set(d.dispute_ref, { amountMinor: d.amount_minor, state: d.state });
  return books;
}

export interface FactContext {
  /** The orders the provider saw paid the order's amount (mismatches are in review by design). */
  paid: Tracked[];
  facts: Map<string, ProviderFacts>;
  books: Map<string, Books>;
  /** WeChat refund id → whether some delivery of its notification was answered 2xx. */
  wechatRefundNotified: Map<string, boolean>;
}

export type Finding = string | null;

function factCheck(
  name: string,
  items: Array<{ order: Tracked; about?: string }>,
  ctx: FactContext,
  problem: (order: Tracked, facts: ProviderFacts, books: Books, about?: string) => Finding,
): Check {
  const violations: string[] = [];
  const orderIds: string[] = [];
  for (const { order, about } of items) {
    const facts = ctx.facts.get(order.orderId);
    const books = ctx.books.get(order.orderId);
    const found = !facts || !books ? "order row missing" : problem(order, facts, books, about);
    if (!found) continue;
    violations.push(`${order.orderId} (${order.plan.provider}, ${order.plan.fate}): ${found}`);
    orderIds.push(order.orderId);
  }
  return { name, checked: items.length, violations, orderIds: [...new Set(orderIds)] };
}

const creditsFinding = (facts: ProviderFacts, books: Books): Finding => {
  const expected = expectedCredits(books.credits, facts);
  return books.net === expected ? null : `net credits ${books.net}, the provider's facts imply ${expected}`;
};

const refundLine = (r: ProviderRefund) => `${r.id} ${r.amountMinor} ${r.status}`;

/** One refund as the provider ended it: recorded once, same amount, same end; a succeeded one counted, clawed once. */
export function refundFinding(books: Books, refund: ProviderRefund): Finding {
  const row = books.refunds.get(refund.id);
  if (!row) return `refund ${refundLine(refund)} not recorded`;
  if (row.amountMinor !== refund.amountMinor) return `refund ${refund.id} recorded as ${row.amountMinor}`;
  if (refund.status !== "other" && row.status !== refund.status)
    return `refund ${refundLine(refund)} recorded ${row.status}`;
  if ((books.rowsByRef.get(`clawback:${refund.id}`) ?? 0) > 1) return `refund ${refund.id} clawed back twice`;
  if ((books.rowsByRef.get(`adjustment:${refund.id}`) ?? 0) > 1)
    return `refund ${refund.id} given back twice`;
  if (refund.status === "succeeded" && row.clawed === null)
    return `refund ${refund.id} recorded, never counted`;
  return null;
}

/** Every refund the sandbox made is recorded once as it ended, and payguard holds none it did not make. */
function refundsRecorded(ctx: FactContext): Check {
  const items = ctx.paid.flatMap((order) =>
    (ctx.facts.get(order.orderId)?.refunds ?? []).map((refund) => ({ order, about: refund.id })),
  );
  const check = factCheck("every refund recorded once, as it ended", items, ctx, (_o, facts, books, id) => {
    const refund = facts.refunds.find((r) => r.id === id) as ProviderRefund;
    return refundFinding(books, refund);
  });
  for (const order of ctx.paid) {
    const known = new Set((ctx.facts.get(order.orderId)?.refunds ?? []).map((r) => r.id));
    const extra = [...(ctx.books.get(order.orderId)?.refunds.keys() ?? [])].filter((ref) => !known.has(ref));
    if (extra.length === 0) continue;
    check.violations.push(`${order.orderId}: refunds ${extra.join(", ")} recorded, unknown to the provider`);
    check.orderIds?.push(order.orderId);
  }
  return check;
}

const withRefunds = (ctx: FactContext) =>
  ctx.paid.filter((o) => (ctx.facts.get(o.orderId)?.refunds.length ?? 0) > 0).map((order) => ({ order }));

/** An order's refunds as a whole: status as the succeeded ones imply, each clawed once, net credits as the rules say. */
function refundsClawedBack(ctx: FactContext): Check {
  return factCheck("every refund clawed back once", withRefunds(ctx), ctx, (_o, facts, books) => {
    for (const refund of facts.refunds) {
      const found = refundFinding(books, refund);
      if (found) return found;
    }
    const status = expectedStatus(facts);
    if (books.status !== status)
      return `status ${books.status}, refunds ${facts.refunds.map(refundLine).join(", ")} imply ${status}`;
    return creditsFinding(facts, books);
  });
}

/**
 * Every WeChat refund, a second refund of one order and one whose notification was lost (recovered by
 * the daily bill) included: recorded, clawed back once, the order's credits as the rules say.
 */
function wechatRefunds(ctx: FactContext): Check {
  const items = ctx.paid
    .filter((o) => o.plan.provider === "wechatpay")
    .flatMap((order) => (ctx.facts.get(order.orderId)?.refunds ?? []).map((r) => ({ order, about: r.id })));
  const lost = items.filter(({ about }) => ctx.wechatRefundNotified.get(about ?? "") !== true).length;
  const second = items.filter(
    ({ order, about }) => ctx.facts.get(order.orderId)?.refunds[0]?.id !== about,
  ).length;
  return factCheck(
    `every WeChat refund clawed back once (${second} second refunds, ${lost} never acknowledged)`,
    items,
    ctx,
    (_o, facts, books, id) => {
      const refund = facts.refunds.find((r) => r.id === id) as ProviderRefund;
      const notified =
        ctx.wechatRefundNotified.get(refund.id) === true ? "" : " (notification never acknowledged)";
      const found = refundFinding(books, refund) ?? creditsFinding(facts, books);
      return found ? `${found}${notified}` : null;
    },
  );
}

/** A refund that failed after it succeeded takes nothing net: the order holds what the refunds still standing imply. */
function failedRefunds(ctx: FactContext): Check {
  const items = ctx.paid
    .filter((o) => ctx.facts.get(o.orderId)?.refunds.some((r) => r.status === "failed"))
    .map((order) => ({ order }));
  return factCheck("every failed refund claws nothing net", items, ctx, (_o, facts, books) => {
    for (const refund of facts.refunds.filter((r) => r.status === "failed")) {
      const row = books.refunds.get(refund.id);
      if (row?.status !== "failed")
        return `refund ${refund.id} failed at the provider, recorded ${row?.status ?? "nowhere"}`;
    }
    const found = creditsFinding(facts, books);
    return found ? `${found} (${succeededMinor(facts)} refunded after the failures)` : null;
  });
}

/**
 * A dispute open or lost takes its share (all credits for the whole amount), one won gives it back once:
 * recorded in its state, at most one `dispute` row and one reversal under its id, the order's net as the rules say.
 */
function disputes(ctx: FactContext): Check {
  const items = ctx.paid.flatMap((order) =>
    (ctx.facts.get(order.orderId)?.disputes ?? []).map((d) => ({ order, about: d.id })),
  );
  const by = (state: string) =>
    items.filter(({ order, about }) =>
      ctx.facts.get(order.orderId)?.disputes.some((d) => d.id === about && d.state === state),
    ).length;
  return factCheck(
    `every dispute takes its share until won (${by("open")} open, ${by("won")} won, ${by("lost")} lost)`,
    items,
    ctx,
    (_o, facts, books, id) => {
      const dispute = facts.disputes.find((d) => d.id === id);
      const row = books.disputes.get(id ?? "");
      if (!dispute || !row) return `dispute ${id} not recorded`;
      if (row.state !== dispute.state || row.amountMinor !== dispute.amountMinor)
        return `dispute ${id} ${dispute.amountMinor} ${dispute.state} recorded ${row.amountMinor} ${row.state}`;
      if ((books.rowsByRef.get(`dispute:${id}`) ?? 0) > 1) return `dispute ${id} clawed twice`;
      if ((books.rowsByRef.get(`adjustment:${id}`) ?? 0) > 1) return `dispute ${id} given back twice`;
      const found = creditsFinding(facts, books);
      return found ? `${found} (dispute ${dispute.amountMinor} ${dispute.state})` : null;
    },
  );
}

/** Net credits of every paid order, whatever its facts (payments alone, free, async, refunds, disputes). */
function credits(ctx: FactContext): Check {
  return factCheck(
    "every order's credits = what its provider's facts imply",
    ctx.paid.map((order) => ({ order })),
    ctx,
    (_o, facts, books) => creditsFinding(facts, books),
  );
}

export function factChecks(ctx: FactContext): Check[] {
  return [
    credits(ctx),
    refundsRecorded(ctx),
    refundsClawedBack(ctx),
    wechatRefunds(ctx),
    failedRefunds(ctx),
    disputes(ctx),
  ];
}
