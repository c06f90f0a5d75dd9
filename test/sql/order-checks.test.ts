/**
 * The last provider check on each order (migration 20261206000100): a failed call keeps its code and counts
 * as an attempt, an unpaid answer is recorded with the schedule, a paid answer is kept, an older result
 * never overwrites a newer one; the order search finds orders by any recorded payment and by a failed check.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

interface OrderJson {
  id: string;
  status: string;
  check_attempts: number;
  next_check_at: string | null;
  last_check_at: string | null;
  last_check_outcome: string | null;
  last_check_error: string | null;
}

describe.each(ledgerBackends("order checks SQL"))("provider check results on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const createOrder = (provider = "wechatpay") =>
    ledger.call<OrderJson>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: "credits_100",
      p_provider: provider,
      p_now: T0,
    });
  const note = (orderId: string, minutes: number, outcome: string, error: string | null, count: boolean) =>
    ledger.call<OrderJson>("note_check", {
      p_order_id: orderId,
      p_now: at(minutes),
      p_outcome: outcome,
      p_error: error,
      p_count: count,
    });

  it("records a failed check with its code as an attempt, without moving the schedule", async () => {
    const order = await createOrder();
    const failed = await note(order.id, 1, "error", "SYSTEM_ERROR: 系统错误", true);
    expect(failed).toMatchObject({
      last_check_outcome: "error",
      last_check_error: "SYSTEM_ERROR: 系统错误",
      check_attempts: 1,
      next_check_at: order.next_check_at,
    });
    expect(Date.parse(failed.last_check_at ?? "")).toBe(Date.parse(at(1)));
    // The success page's own check does not count as a scheduled attempt.
    const fromPage = await note(order.id, 2, "error", "HTTP_503", false);
    expect(fromPage.check_attempts).toBe(1);
    expect(fromPage.last_check_error).toBe("HTTP_503");
  });

  it("keeps the error short", async () => {
    const order = await createOrder();
    const failed = await note(order.id, 1, "error", "x".repeat(500), true);
    expect(failed.last_check_error).toHaveLength(200);
  });

  it("records an unpaid answer with the backoff schedule and clears the error", async () => {
    const order = await createOrder();
    await note(order.id, 1, "error", "SYSTEM_ERROR", true);
    const unpaid = await ledger.call<OrderJson>("record_check", { p_order_id: order.id, p_now: at(6) });
    expect(unpaid).toMatchObject({ last_check_outcome: "unpaid", last_check_error: null, check_attempts: 2 });
    expect(Date.parse(unpaid.last_check_at ?? "")).toBe(Date.parse(at(6)));
    // Second attempt on the backoff: 2 minutes.
    expect(Date.parse(unpaid.next_check_at ?? "")).toBe(Date.parse(at(8)));
    const soon = await ledger.call<OrderJson>("record_check", {
      p_order_id: order.id,
      p_now: at(9),
      p_delay_seconds: 20,
    });
    expect(soon.last_check_outcome).toBe("confirming");
    const missing = await ledger.call<OrderJson>("record_check", {
      p_order_id: order.id,
      p_now: at(10),
      p_outcome: "not_found",
    });
    expect(missing.last_check_outcome).toBe("not_found");
  });

  it("records a paid answer and never lets an older result overwrite a newer one", async () => {
    const order = await createOrder("stripe");
    await note(order.id, 5, "paid", null, true);
    const stale = await note(order.id, 4, "error", "HTTP_500", true);
    expect(stale).toMatchObject({ last_check_outcome: "paid", last_check_error: null, check_attempts: 1 });
    const staleUnpaid = await ledger.call<OrderJson>("record_check", { p_order_id: order.id, p_now: at(3) });
    expect(staleUnpaid.last_check_outcome).toBe("paid");
    expect(Date.parse(staleUnpaid.last_check_at ?? "")).toBe(Date.parse(at(5)));
  });

  it("refuses an outcome outside the fixed set", async () => {
    const order = await createOrder();
    await expect(note(order.id, 1, "maybe", null, false)).rejects.toThrow(/check/);
  });

  it("finds an order by a recorded payment and lists pending orders whose last check failed", async () => {
    const user = randomUUID();
    const paid = await ledger.call<OrderJson>("create_order", {
      p_user_id: user,
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: T0,
    });
    await ledger.call("apply_payment", {
      p_provider: "stripe",
      p_order_id: paid.id,
      p_payment_ref: `pi_${paid.id}`,
      p_amount_minor: 1999,
      p_currency: "USD",
      p_paid_at: at(1),
      p_source: "webhook",
      p_now: at(1),
    });
    // A second payment for the same order: recorded in order_payments, not as the order's payment_ref.
    await ledger.call("apply_payment", {
      p_provider: "stripe",
      p_order_id: paid.id,
      p_payment_ref: `pi_second_${paid.id}`,
      p_amount_minor: 1999,
      p_currency: "USD",
      p_paid_at: at(2),
      p_source: "webhook",
      p_now: at(2),
    });
    const failing = await ledger.call<OrderJson>("create_order", {
      p_user_id: user,
      p_package_id: "credits_100",
      p_provider: "wechatpay",
      p_now: T0,
    });
    await note(failing.id, 3, "error", "SYSTEM_ERROR", true);
    const search = (args: Record<string, unknown>) =>
      ledger.call<{ total: number; orders: OrderJson[] }>("admin_search_orders", {
        p_query: null,
        p_user_id: user,
        p_status: null,
        p_provider: null,
        p_from: null,
        p_to: null,
        p_limit: 50,
        p_offset: 0,
        ...args,
      });
    expect((await search({ p_query: `pi_second_${paid.id}` })).orders.map((o) => o.id)).toEqual([paid.id]);
    const failed = await search({ p_check: "failed" });
    expect(failed.orders.map((o) => o.id)).toEqual([failing.id]);
    expect(failed.orders[0]).toMatchObject({ last_check_outcome: "error", last_check_error: "SYSTEM_ERROR" });
    const detail = await ledger.call<{ payments: Array<{ payment_ref: string; role: string }> }>(
      "admin_order_detail",
      { p_order_id: paid.id },
    );
    expect(detail.payments.map((p) => [p.payment_ref, p.role])).toEqual([
      [`pi_${paid.id}`, "primary"],
      [`pi_second_${paid.id}`, "second"],
    ]);
  });
});
