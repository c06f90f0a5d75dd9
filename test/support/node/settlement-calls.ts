/**
 * The SQL a settlement scenario's deliveries make (test/sql/settlement-order.test.ts): each fact as the
 * settlement function the worker calls for it, or as the `settle_event` the webhook makes of it (event
 * type, locator and `p_facts` entry); the order's creation, and the query that reads its final state.
 */
import {
  AWAIT_UNTIL_MIN,
  at,
  CURRENCY,
  type FactBody,
  ORDER_AMOUNT_MINOR,
  ORDER_CREDITS,
  type Scenario,
} from "./settlement-facts.ts";
import type { Delivery } from "./settlement-schedule.ts";

const PROVIDER = "stripe";

export interface CaseIds {
  orderId: string;
  userId: string;
  /** `credits_100`, or a package of one unit of the case's own (async scenarios). */
  packageId: string;
  competitorUserId: string;
}

export interface Call {
  text: string;
  params: unknown[];
}

export interface Run {
  ids: CaseIds;
  scenario: Scenario;
  deliveries: Delivery[];
}

/** `payguard.fn(name => $1, ...) as result` with the arguments in order. */
function fn(name: string, args: Record<string, unknown>): Call {
  const names = Object.keys(args);
  return {
    text: `select payguard.${name}(${names.map((n, i) => `${n} => $${i + 1}`).join(", ")}) as result`,
    params: names.map((n) => args[n]),
  };
}

const SWEEP_SQL = `select payguard.expire_order(p_order_id => o ->> 'id', p_reason => 'expired: nothing paid by its expiry',
    p_now => $2::timestamptz) as result
  from (select payguard.get_order($1) as o) s
 where o ->> 'status' = 'pending' and (o ->> 'expires_at')::timestamptz <= $2::timestamptz`;

const ref = (ids: CaseIds, suffix: string) => `${ids.orderId}_${suffix}`;

/** The settlement function a fact goes to when the worker calls it directly. */
function directCall(body: FactBody, ids: CaseIds, now: string): Call {
  const o = ids.orderId;
  const common = { p_source: "webhook", p_now: now };
  switch (body.kind) {
    case "pay":
      return fn("apply_payment", {
        p_provider: PROVIDER,
        p_order_id: o,
        p_payment_ref: ref(ids, body.ref),
        p_amount_minor: body.amountMinor,
        p_currency: CURRENCY,
        p_paid_at: at(body.paidAtMin),
        ...common,
        p_discount_minor: body.discountMinor,
      });
    case "refund":
      return fn("apply_refund", {
        p_provider: PROVIDER,
        p_order_id: body.paymentRef ? null : o,
        p_refund_ref: ref(ids, body.ref),
        p_amount_minor: body.amountMinor,
        p_currency: CURRENCY,
        ...common,
        p_payment_ref: body.paymentRef ? ref(ids, body.paymentRef) : null,
      });
    case "refund_failed":
      return fn("fail_refund", { p_provider: PROVIDER, p_refund_ref: ref(ids, body.ref), ...common });
    case "expired":
      return fn("expire_order", { p_order_id: o, p_reason: "stripe reports expired", p_now: now });
    case "awaiting":
      return fn("await_payment", {
        p_order_id: o,
        p_payment_ref: null,
        p_until: at(AWAIT_UNTIL_MIN),
        p_now: now,
      });
    case "async_failed":
      return fn("fail_order", { p_order_id: o, p_reason: "async payment failed", p_now: now });
    case "dispute":
      return fn("apply_dispute", {
        p_provider: PROVIDER,
        p_order_id: body.orderKnown ? o : null,
        p_dispute_ref: ref(ids, "dp"),
        p_payment_ref: ref(ids, "p1"),
        p_amount_minor: ORDER_AMOUNT_MINOR,
        p_currency: CURRENCY,
        p_state: body.state,
        p_policy: body.policy,
        ...common,
      });
    case "reject":
      return fn("resolve_review", {
        p_order_id: o,
        p_resolution: "reject",
        p_note: "operator rejects the review",
        p_now: now,
      });
    case "sweep":
      return { text: SWEEP_SQL, params: [o, now] };
    case "competitor":
      return fn("checkout_begin", {
        p_user_id: ids.competitorUserId,
        p_package_id: ids.packageId,
        p_provider: PROVIDER,
        p_idempotency_key: null,
        p_request_hash: null,
        p_now: now,
        p_expires_in_seconds: 1800,
      });
    case "pay_refunded_at_provider":
      throw new Error("a query answer reaches settlement only through settle_event");
  }
}

/** The same fact as the worker hands it to `settle_event`: event type, locator and `p_facts` entry. */
function eventOf(body: FactBody, ids: CaseIds): { type: string; locator: object; fact: object } {
  const o = ids.orderId;
  const claimed = { by: null, ref: null, claimed_order_id: o };
  const base = { provider: PROVIDER, order_id: null };
  switch (body.kind) {
    case "pay":
    case "pay_refunded_at_provider": {
      const fact = {
        ...base,
        kind: "paid",
        payment_ref: ref(ids, body.ref),
        amount_minor: body.kind === "pay" ? body.amountMinor : ORDER_AMOUNT_MINOR,
        discount_minor: body.kind === "pay" ? body.discountMinor : 0,
        currency: CURRENCY,
        paid_at: at(body.kind === "pay" ? body.paidAtMin : 1),
        provider_ref: null,
        metadata: null,
      };
      if (body.kind === "pay") return { type: "checkout.session.completed", locator: claimed, fact };
      return { type: "trade.query", locator: claimed, fact: { ...fact, refunded_at_provider: true } };
    }
    case "refund": {
      const paymentRef = body.paymentRef ? ref(ids, body.paymentRef) : null;
      return {
        type: "charge.refunded",
        locator: paymentRef ? { by: "payment", ref: paymentRef, claimed_order_id: null } : claimed,
        fact: {
          ...base,
          kind: "refunded",
          refund_ref: ref(ids, body.ref),
          amount_minor: body.amountMinor,
          currency: CURRENCY,
          payment_ref: paymentRef,
        },
      };
    }
    case "refund_failed":
      return {
        type: "refund.failed",
        locator: { by: null, ref: null, claimed_order_id: null },
        fact: { ...base, kind: "refund_failed", refund_ref: ref(ids, body.ref) },
      };
    case "expired":
      return { type: "checkout.session.expired", locator: claimed, fact: { ...base, kind: "expired" } };
    case "awaiting":
      return {
        type: "checkout.session.completed",
        locator: claimed,
        fact: { ...base, kind: "awaiting_payment", payment_ref: null, until: at(AWAIT_UNTIL_MIN) },
      };
    case "async_failed":
      return {
        type: "checkout.session.async_payment_failed",
        locator: claimed,
        fact: { ...base, kind: "failed", reason: "async payment failed" },
      };
    case "dispute":
      return {
        type: body.state === "open" ? "charge.dispute.created" : "charge.dispute.closed",
        locator: claimed,
        fact: {
          ...base,
          kind: "disputed",
          payment_ref: ref(ids, "p1"),
          dispute_ref: ref(ids, "dp"),
          amount_minor: ORDER_AMOUNT_MINOR,
          currency: CURRENCY,
          state: body.state,
          policy: body.policy,
        },
      };
    default:
      throw new Error(`${body.kind} is a decision, not a provider event`);
  }
}

export function callFor(d: Delivery, ids: CaseIds): Call {
  const now = at(d.nowMin);
  // A dispute that names no order goes straight to apply_dispute (held until its payment is seen);
  // through settle_event it would be `unlocated` until then.
  const viaEvent = d.viaEvent && !(d.fact.body.kind === "dispute" && !d.fact.body.orderKnown);
  if (!viaEvent) return directCall(d.fact.body, ids, now);
  const event = eventOf(d.fact.body, ids);
  return fn("settle_event", {
    p_provider: PROVIDER,
    p_event_id: `evt_${ids.orderId}_${d.fact.key}_${d.eventCopy}`,
    p_event_type: event.type,
    p_locator: event.locator,
    p_facts: [event.fact],
    p_source: "webhook",
    p_now: now,
  });
}

/** As the table owner: the case's own package of one unit (async scenarios). */
export function packageCall(ids: CaseIds): Call {
  return {
    text: `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
           values ($1, 'last unit', $2, $3, $4, true, 1)`,
    params: [ids.packageId, ORDER_AMOUNT_MINOR, CURRENCY, ORDER_CREDITS],
  };
}

export const createCall = (ids: CaseIds): Call =>
  fn("create_order", {
    p_user_id: ids.userId,
    p_package_id: ids.packageId,
    p_provider: PROVIDER,
    p_now: at(0),
    p_order_id: ids.orderId,
  });

/**
 * As the table owner. Units are counted only for a package of the case's own. The order's incident outbox
 * rows are read and deleted, as the worker's drain would (finish_incident_outbox), so the table stays small.
 */
export const OBSERVE_SQL = `with drained as (
    delete from payguard.incident_outbox x where strpos(x.key, $1) > 0 returning x.*
  )
  select jsonb_build_object(
    'status', o.status,
    'refunded_minor', o.refunded_minor,
    'credits', (select coalesce(sum(l.credits), 0) from payguard.credit_ledger l where l.user_id = o.user_id),
    'order_credits', (select coalesce(sum(l.credits), 0) from payguard.credit_ledger l
                       where l.order_id = o.id and l.kind <> 'dispute' and to_jsonb(l) ->> 'dispute_ref' is null),
    'balance', (select coalesce(sum(b.credits), 0) from payguard.credit_balances b where b.user_id = o.user_id),
    'refunds', (select coalesce(jsonb_agg(jsonb_build_array(r.refund_ref, r.status, r.amount_minor) order by r.refund_ref), '[]')
                  from payguard.payment_refunds r where r.order_id = o.id),
    'payments', (select coalesce(jsonb_agg(jsonb_build_array(p.payment_ref, p.role) order by p.payment_ref), '[]')
                   from payguard.order_payments p where p.order_id = o.id),
    'held', (select count(*) from payguard.held_facts h
              where h.order_id = o.id or starts_with(h.payment_ref, o.id || '_')),
    'units_held', case when o.package_id = $2 then (select count(*) from payguard.payment_orders u
                   where u.package_id = o.package_id
                     and u.status in ('pending', 'fulfilled', 'partially_refunded', 'needs_review')) else 0 end,
    'outbox', (select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'action', d.action, 'key', d.key,
                 'summary', d.summary, 'detail', d.detail) order by d.id), '[]') from drained d)
  ) as state
  from payguard.payment_orders o where o.id = $1`;

export const observeCall = (ids: CaseIds): Call => ({
  text: OBSERVE_SQL,
  params: [ids.orderId, ids.packageId === "credits_100" ? "" : ids.packageId],
});
