/**
 * The overview's "needs attention" figures (`admin_attention`, `admin_paid_not_credited`) and webhook
 * success over delivery attempts (`admin_overview`, `threshold_stats`). Every figure is checked as the
 * change the test's own rows made, so other suites sharing the database cannot move it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const STUCK_BEFORE = at(-10);
const uid = () => randomUUID().replaceAll("-", "").slice(0, 20);

interface Figure {
  count: number;
  oldest_at: string | null;
  amounts?: Array<{ currency: string; count: number; amount_minor: number }>;
}
type Attention = Record<
  "critical_incidents" | "paid_not_credited" | "in_review" | "app_hook_failed" | "check_failed",
  Figure
> & { inbox: Figure & { failed: number; stuck: number } };

const amountOf = (figure: Figure, currency: string) =>
  figure.amounts?.find((a) => a.currency === currency) ?? { count: 0, amount_minor: 0 };

/** What the test's rows added to one currency of a figure: [count, amount_minor]. */
const added = (before: Figure, after: Figure, currency: string) => {
  const [was, now] = [amountOf(before, currency), amountOf(after, currency)];
  return [now.count - was.count, now.amount_minor - was.amount_minor];
};

describe.each(ledgerBackends("overview attention SQL"))("overview: needs attention on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
    await ledger.db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
      values ('ov_cny', 'CNY pack', 990, 'CNY', 100, true, null), ('ov_one', 'one left', 500, 'USD', 10, true, 1)`);
  });
  afterAll(() => ledger.close());

  const attention = () => ledger.call<Attention>("admin_attention", { p_stuck_before: STUCK_BEFORE });
  const newOrder = (pkg = "credits_100", provider = "stripe", orderId: string | null = null) =>
    ledger.call<{ id: string }>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: pkg,
      p_provider: provider,
      p_now: T0,
      p_order_id: orderId,
    });
  const pay = (orderId: string, amount: number, currency = "USD", extra: Record<string, unknown> = {}) =>
    ledger.call<{ outcome: string; order: { status: string } | null }>("apply_payment", {
      p_provider: "stripe",
      p_order_id: orderId,
      p_payment_ref: `pi_${uid()}`,
      p_amount_minor: amount,
      p_currency: currency,
      p_paid_at: at(1),
      p_source: "webhook",
      p_now: at(1),
      ...extra,
    });
  const notCredited = async (orderId: string) =>
    (
      await ledger.call<Array<{ order_id: string; kind: string; amount_minor: number; currency: string }>>(
        "admin_paid_not_credited",
        { p_limit: 200 },
      )
    ).filter((row) => row.order_id === orderId);

  it("counts paid but not credited per currency: review without a grant, rejected, held for an unknown order", async () => {
    const before = await attention();
    // Paid the wrong amount: in review, nobody credited.
    const short = await newOrder();
    expect((await pay(short.id, 999)).order?.status).toBe("needs_review");
    // Paid, then rejected by an operator: credits taken back, the payment still to refund.
    const rejected = await newOrder();
    await pay(rejected.id, 1999);
    await ledger.call("flag_order", { p_order_id: rejected.id, p_reason: "fraud check", p_now: at(2) });
    await ledger.call("resolve_review", {
      p_order_id: rejected.id,
      p_resolution: "reject",
      p_note: "n",
      p_now: at(3),
    });
    // Paid after expiry for the last unit, sold to someone else meanwhile: in review without credits.
    const late = await newOrder("ov_one");
    await ledger.call("expire_order", { p_order_id: late.id, p_reason: "expired", p_now: at(1) });
    await newOrder("ov_one");
    expect((await pay(late.id, 500)).order?.status).toBe("needs_review");
    // A payment whose order was never written and whose metadata names none: held.
    const heldOrder = `ord_${uid()}`;
    expect((await pay(heldOrder, 4200)).outcome).toBe("held");
    // A CNY mismatch, to be counted in its own currency.
    const cny = await newOrder("ov_cny", "wechatpay");
    await ledger.call("apply_payment", {
      p_provider: "wechatpay",
      p_order_id: cny.id,
      p_payment_ref: `42000${uid()}`,
      p_amount_minor: 100,
      p_currency: "CNY",
      p_paid_at: at(1),
      p_source: "webhook",
      p_now: at(1),
    });
    // Not at risk: a credited order, a paid-twice review (its grant stands), a rejected order refunded in full.
    await pay((await newOrder()).id, 1999);
    const twice = await newOrder();
    await pay(twice.id, 1999);
    expect((await pay(twice.id, 1999)).order?.status).toBe("needs_review");
    const refunded = await newOrder();
    await pay(refunded.id, 1999, "USD", { p_payment_ref: `pi_${refunded.id}` });
    await ledger.call("flag_order", { p_order_id: refunded.id, p_reason: "fraud check", p_now: at(2) });
    await ledger.call("resolve_review", {
      p_order_id: refunded.id,
      p_resolution: "reject",
      p_note: "n",
      p_now: at(3),
    });
    await ledger.call("apply_refund", {
      p_provider: "stripe",
      p_order_id: refunded.id,
      p_refund_ref: `re_${uid()}`,
      p_amount_minor: 1999,
      p_currency: "USD",
      p_source: "webhook",
      p_now: at(4),
      p_payment_ref: `pi_${refunded.id}`,
    });

    const after = await attention();
    expect(after.paid_not_credited.count - before.paid_not_credited.count).toBe(5);
    expect(added(before.paid_not_credited, after.paid_not_credited, "USD")).toEqual([
      4,
      999 + 1999 + 500 + 4200,
    ]);
    expect(added(before.paid_not_credited, after.paid_not_credited, "CNY")).toEqual([1, 100]);

    expect(await notCredited(short.id)).toMatchObject([
      { kind: "order", amount_minor: 999, currency: "USD" },
    ]);
    expect(await notCredited(rejected.id)).toMatchObject([{ kind: "order", amount_minor: 1999 }]);
    expect(await notCredited(late.id)).toMatchObject([{ kind: "order", amount_minor: 500 }]);
    expect(await notCredited(heldOrder)).toMatchObject([{ kind: "held", amount_minor: 4200 }]);
    expect(await notCredited(twice.id)).toEqual([]);
    expect(await notCredited(refunded.id)).toEqual([]);

    // In review: the short payment, the sold-out unit, the CNY mismatch and the paid-twice order, at their prices.
    expect(after.in_review.count - before.in_review.count).toBe(4);
    expect(added(before.in_review, after.in_review, "USD")).toEqual([3, 1999 + 500 + 1999]);
    expect(added(before.in_review, after.in_review, "CNY")).toEqual([1, 990]);
  });

  it("counts open critical and app_hook_failed incidents, failed and stuck inbox events, failed provider checks", async () => {
    const before = await attention();
    const incident = (key: string, kind: string, severity: string) =>
      ledger.call("open_incident", {
        p_key: key,
        p_kind: kind,
        p_severity: severity,
        p_summary: "s",
        p_detail: {},
        p_now: T0,
      });
    await incident(`ov_critical:${uid()}`, "ov_test", "critical");
    await incident(`app_hook_failed:ord_${uid()}`, "app_hook_failed", "critical");
    await incident(`ov_warning:${uid()}`, "ov_test", "warning");
    const gone = `ov_critical:${uid()}`;
    await incident(gone, "ov_test", "critical");
    await ledger.call("resolve_incident", { p_key: gone, p_now: at(1) });

    const inbox = async (eventId: string, receivedAt: string, finish?: string) => {
      await ledger.call("record_event", {
        p_provider: "stripe",
        p_event_id: eventId,
        p_event_type: "checkout.session.completed",
        p_order_id: null,
        p_now: receivedAt,
      });
      if (finish)
        await ledger.call("finish_event", {
          p_provider: "stripe",
          p_event_id: eventId,
          p_status: finish,
          p_error: finish === "failed" ? "boom" : null,
          p_now: receivedAt,
        });
    };
    await inbox(`evt_${uid()}`, at(-5), "failed");
    await inbox(`evt_${uid()}`, at(-30));
    await inbox(`evt_${uid()}`, at(-5)); // received moments ago: still in flight, not stuck
    await inbox(`evt_${uid()}`, at(-30), "processed");

    const failing = await newOrder();
    await ledger.call("note_check", {
      p_order_id: failing.id,
      p_now: at(1),
      p_outcome: "error",
      p_error: "SYSTEM_ERROR: try later",
    });
    const unpaid = await newOrder();
    await ledger.call("note_check", { p_order_id: unpaid.id, p_now: at(1), p_outcome: "unpaid" });

    const after = await attention();
    expect(after.critical_incidents.count - before.critical_incidents.count).toBe(2);
    expect(after.app_hook_failed.count - before.app_hook_failed.count).toBe(1);
    expect(after.inbox.failed - before.inbox.failed).toBe(1);
    expect(after.inbox.stuck - before.inbox.stuck).toBe(1);
    expect(after.inbox.count - before.inbox.count).toBe(2);
    expect(after.check_failed.count - before.check_failed.count).toBe(1);
  });
});

describe.each(ledgerBackends("webhook deliveries SQL"))(
  "overview: webhook success over delivery attempts on %s",
  (_name, open) => {
    let ledger: LedgerDb;
    beforeAll(async () => {
      ledger = await open();
    });
    afterAll(() => ledger.close());

    // A window of its own, long before the other suites' times.
    const W0 = "2025-03-01T00:00:00.000Z";
    const w = (minutes: number) => new Date(Date.parse(W0) + minutes * 60_000).toISOString();
    const record = (eventId: string, now: string) =>
      ledger.call("record_event", {
        p_provider: "wechatpay",
        p_event_id: eventId,
        p_event_type: "TRANSACTION.SUCCESS",
        p_order_id: null,
        p_now: now,
      });
    const finish = (eventId: string, status: string, now: string) =>
      ledger.call("finish_event", {
        p_provider: "wechatpay",
        p_event_id: eventId,
        p_status: status,
        p_error: status === "failed" ? "answered 503" : null,
        p_now: now,
      });
    const counts = async () => {
      const overview = await ledger.call<{
        webhooks_by_provider: Record<
          string,
          { deliveries: number; failed: number; ok: number; success_rate: number }
        >;
      }>("admin_overview", { p_since: W0, p_now: w(60), p_bucket_seconds: 3600 });
      const stats = await ledger.call<{ callbacks: Record<string, { deliveries: number; failed: number }> }>(
        "threshold_stats",
        { p_since: W0, p_now: w(60) },
      );
      return { overview: overview.webhooks_by_provider.wechatpay, alert: stats.callbacks.wechatpay };
    };

    it("counts a failed delivery that a redelivery later settled, and one whose settlement committed after a 5xx", async () => {
      const clean = `ov_${uid()}`;
      await record(clean, w(1));
      await finish(clean, "processed", w(1));
      expect(await counts()).toEqual({
        overview: { received: 1, deliveries: 1, failed: 0, ok: 1, success_rate: 1 },
        alert: { deliveries: 1, failed: 0 },
      });

      // Answered 5xx (the settlement rolled back, the failure recorded), then redelivered and settled.
      const retried = `ov_${uid()}`;
      await record(retried, w(2));
      await finish(retried, "failed", w(2));
      await record(retried, w(3));
      await finish(retried, "processed", w(3));
      // Answered 5xx after a timeout while the settlement committed: the row was finished before the failure.
      const late = `ov_${uid()}`;
      await record(late, w(4));
      await finish(late, "processed", w(4));
      await record(late, w(4));
      await finish(late, "failed", w(4));

      const { overview, alert } = await counts();
      expect(overview).toMatchObject({ received: 3, deliveries: 5, failed: 2, ok: 3, success_rate: 0.6 });
      expect(alert).toEqual({ deliveries: 5, failed: 2 });
      // A finished event stays finished: the failed answer was counted, the row still says processed.
      const { rows } = await ledger.db.query<{ status: string; failed_answers: number }>(
        "select status, failed_answers from payguard.webhook_events where event_id = $1",
        [late],
      );
      expect(rows).toEqual([{ status: "processed", failed_answers: 1 }]);
    });
  },
);
