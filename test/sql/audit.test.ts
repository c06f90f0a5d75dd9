import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL, paidOrder } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const LATER = "2026-11-23T12:00:00.000Z";

interface Finding {
  kind: string;
  subject: string;
}

describe.each(ledgerBackends("audit SQL"))("ledger audit on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const audit = () => ledger.call<Finding[]>("audit_ledger", { p_now: LATER });
  const has = async (kind: string, subject: string) =>
    (await audit()).some((finding) => finding.kind === kind && finding.subject === subject);

  const paid = () => paidOrder(ledger, randomUUID(), T0);

  it("finds a balance that disagrees with the ledger and repairs it from the ledger", async () => {
    const { user } = await paid();
    await ledger.db.query("update payguard.credit_balances set credits = 5000 where user_id = $1", [user]);
    expect(await has("balance_mismatch", user)).toBe(true);
    expect(await ledger.call("repair_balance", { p_user_id: user, p_now: LATER })).toEqual({ delta: -4900 });
    expect(await has("balance_mismatch", user)).toBe(false);
    const trail = await ledger.db.query(
      "select status from payguard.incidents where kind = 'balance_repaired'",
    );
    expect(trail.rows).toContainEqual({ status: "resolved" });
  });

  it("finds a fulfilled order without its grant and grants it once", async () => {
    const { user, orderId } = await paid();
    await ledger.db.exec(`
      alter table payguard.credit_ledger disable trigger credit_ledger_no_update;
      delete from payguard.credit_ledger where order_id = '${orderId}';
      update payguard.credit_balances set credits = 0 where user_id = '${user}';
      alter table payguard.credit_ledger enable trigger credit_ledger_no_update;`);
    expect(await has("fulfilled_without_grant", orderId)).toBe(true);
    expect(await ledger.call("repair_missing_grant", { p_order_id: orderId, p_now: LATER })).toEqual({
      outcome: "granted",
    });
    expect(await ledger.call("repair_missing_grant", { p_order_id: orderId, p_now: LATER })).toEqual({
      outcome: "noop",
    });
    expect(await has("fulfilled_without_grant", orderId)).toBe(false);
    expect(await has("balance_mismatch", user)).toBe(false);
  });

  it("finds a grant whose order is not fulfilled; it clears once the order is settled", async () => {
    const { orderId } = await paid();
    await ledger.db.query("update payguard.payment_orders set status = 'pending' where id = $1", [orderId]);
    expect(await has("grant_without_fulfilled_order", orderId)).toBe(true);
    await ledger.db.query("update payguard.payment_orders set status = 'fulfilled' where id = $1", [orderId]);
    expect(await has("grant_without_fulfilled_order", orderId)).toBe(false);
  });

  it("finds an order stuck pending past its expiry; it clears once expired", async () => {
    const order = await ledger.call<{ id: string }>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: "credits_100",
      p_provider: "wechatpay",
      p_now: T0,
    });
    expect(await has("pending_past_expiry", order.id)).toBe(true);
    await ledger.call("expire_order", { p_order_id: order.id, p_reason: "closed at provider", p_now: LATER });
    expect(await has("pending_past_expiry", order.id)).toBe(false);
  });

  it("lists orders in review until an operator resolves them", async () => {
    const { orderId } = await paid();
    await ledger.call("flag_order", { p_order_id: orderId, p_reason: "chargeback", p_now: LATER });
    expect(await has("needs_review", orderId)).toBe(true);
    const resolved = await ledger.call<{ outcome: string }>("resolve_review", {
      p_order_id: orderId,
      p_resolution: "fulfil",
      p_note: "checked with the customer",
      p_now: LATER,
    });
    expect(resolved.outcome).toBe("fulfilled");
    expect(await has("needs_review", orderId)).toBe(false);
  });

  it("lists failed inbox events until they are processed", async () => {
    const event = { p_provider: "stripe", p_event_id: "evt_audit_1" };
    await ledger.call("record_event", {
      ...event,
      p_event_type: "charge.refunded",
      p_order_id: null,
      p_now: T0,
    });
    await ledger.call("finish_event", {
      ...event,
      p_status: "failed",
      p_error: "order not found",
      p_now: T0,
    });
    expect(await has("failed_inbox_event", "stripe:evt_audit_1")).toBe(true);
    await ledger.call("record_event", {
      ...event,
      p_event_type: "charge.refunded",
      p_order_id: null,
      p_now: T0,
    });
    await ledger.call("finish_event", { ...event, p_status: "processed", p_error: null, p_now: T0 });
    expect(await has("failed_inbox_event", "stripe:evt_audit_1")).toBe(false);
  });

  it("reports dashboard metrics over a window", async () => {
    // An order of its own in the window, whichever tests ran before.
    await paid();
    const metrics = await ledger.call<Record<string, unknown>>("dashboard_metrics", {
      p_since: T0,
      p_now: LATER,
    });
    expect(metrics).toMatchObject({
      orders_created: expect.any(Number),
      credits_granted: expect.any(Number),
    });
    expect(Number(metrics.orders_fulfilled)).toBeGreaterThan(0);
  });
});
