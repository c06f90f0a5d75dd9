/**
 * Subscription facts for the SQL suites (test/sql/subscriptions.test.ts, subscription-state.test.ts): the
 * plans, an `invoice_paid` fact as the worker sends it, and the calls a suite makes through
 * `payguard.settle_event` (an invoice paid, a refund or dispute of its payment) with the readings it checks.
 */
import { randomUUID } from "node:crypto";
import type { LedgerDb } from "./ledger-db.ts";

export const T0 = Date.parse("2026-11-01T00:00:00.000Z");
export const DAY = 86_400_000;
export const iso = (ms: number) => new Date(ms).toISOString();

export const PLANS_SQL = `
  insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
  values ('basic', 'Basic monthly', 1000, 'USD', 100, true), ('pro', 'Pro monthly', 3000, 'USD', 500, true),
         ('daily', 'Daily reset', 500, 'USD', 50, true), ('pack', 'One-off pack', 1999, 'USD', 100, true)
  on conflict (id) do nothing;
  insert into payguard.credit_plans (package_id, price_ref, interval, expiry_policy)
  values ('basic', 'price_basic', 'month', 'accumulate'), ('pro', 'price_pro', 'month', 'accumulate'),
         ('daily', 'price_daily', 'day', 'reset')
  on conflict do nothing;`;

export interface Line {
  price_ref: string;
  amount_minor: number;
  proration?: boolean;
  quantity?: number;
  currency?: string;
}

export interface InvoiceSpec {
  invoice: string;
  sub: string;
  user: string;
  reason?: string;
  lines: Line[];
  periodStart: number;
  periodEnd: number;
  paid?: number;
  currency?: string;
  plan?: string;
}

export const invoiceFact = (spec: InvoiceSpec) => ({
  kind: "invoice_paid",
  provider: "stripe",
  invoice_ref: spec.invoice,
  subscription_ref: spec.sub,
  billing_reason: spec.reason ?? "subscription_cycle",
  payment_ref: `pi_${spec.invoice}`,
  amount_minor: spec.paid ?? spec.lines.reduce((sum, line) => sum + line.amount_minor, 0),
  discount_minor: 0,
  currency: spec.currency ?? "usd",
  paid_at: iso(spec.periodStart + 60_000),
  period_start: iso(spec.periodStart),
  period_end: iso(spec.periodEnd),
  metadata: { user_id: spec.user, package_id: spec.plan ?? "basic" },
  lines: spec.lines.map((line) => ({ currency: "usd", quantity: 1, proration: false, ...line })),
});

export type Settled = {
  status: string;
  results?: Array<{ outcome: string; order: { id: string; status: string } | null }>;
};

/** The calls and readings of one suite on the database `db` answers (opened in its beforeAll). */
export function subscriptionCalls(db: () => LedgerDb) {
  const settle = (eventId: string, facts: object[], now = T0 + 90_000, claimed: string | null = null) =>
    db().call<Settled>("settle_event", {
      p_provider: "stripe",
      p_event_id: eventId,
      p_event_type: "invoice.paid",
      p_locator: { by: null, ref: null, claimed_order_id: claimed },
      p_facts: facts,
      p_source: "webhook",
      p_now: iso(now),
    });
  const paid = (spec: InvoiceSpec, eventId = `evt_${randomUUID()}`) =>
    settle(eventId, [invoiceFact(spec)], spec.periodStart + 90_000);
  /** A refund (or a dispute) of the invoice's payment, located by that payment as its event would be. */
  const refundOf = (invoice: string, amount: number, now: number) =>
    byPayment(invoice, "refund.created", now, {
      kind: "refunded",
      refund_ref: `re_${invoice}`,
      amount_minor: amount,
      currency: "USD",
    });
  const disputeOf = (invoice: string, amount: number, now: number, state = "open") =>
    byPayment(invoice, "charge.dispute.created", now, {
      kind: "disputed",
      dispute_ref: `dp_${invoice}`,
      amount_minor: amount,
      currency: "USD",
      state,
      policy: "claw_back",
    });
  const byPayment = (invoice: string, type: string, now: number, fact: Record<string, unknown>) =>
    db().call<Settled>("settle_event", {
      p_provider: "stripe",
      p_event_id: `evt_${randomUUID()}`,
      p_event_type: type,
      p_locator: { by: "payment", ref: `pi_${invoice}`, claimed_order_id: null },
      p_facts: [{ provider: "stripe", payment_ref: `pi_${invoice}`, ...fact }],
      p_source: "webhook",
      p_now: iso(now),
    });
  const balance = async (user: string) =>
    Number(
      (
        await db().db.query<{ credits: string }>(
          "select coalesce((select credits from payguard.credit_balances where user_id = $1), 0) as credits",
          [user],
        )
      ).rows[0]?.credits,
    );
  const ledgerOf = async (user: string) =>
    (
      await db().db.query<{ kind: string; credits: string; order_id: string | null }>(
        "select kind, credits, coalesce(order_id, expired_order_id) as order_id from payguard.credit_ledger where user_id = $1 order by id",
        [user],
      )
    ).rows.map((row) => `${row.kind}:${row.credits}:${row.order_id}`);
  const fresh = () => {
    const tag = randomUUID().replaceAll("-", "").slice(0, 12);
    return { user: randomUUID(), sub: `sub_${tag}`, inv: (n: number) => `in_${tag}_${n}` };
  };
  const period = (n: number) => ({ periodStart: T0 + n * 30 * DAY, periodEnd: T0 + (n + 1) * 30 * DAY });
  const basicLine: Line = { price_ref: "price_basic", amount_minor: 1000 };
  return { settle, paid, refundOf, disputeOf, balance, ledgerOf, fresh, period, basicLine };
}
