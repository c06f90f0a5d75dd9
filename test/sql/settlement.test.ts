/**
 * One named test per settlement scenario of the "no fact is ever swallowed" rule: held facts, review that
 * keeps every fact, references that decide the order, rebuilding only within stock, failed refunds,
 * discounts. Runs on PGlite, and on Postgres when DATABASE_URL is set.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

type OrderJson = {
  id: string;
  status: string;
  user_id: string;
  payment_ref: string | null;
  discount_minor: number;
};
type Outcome = { outcome: string; order: OrderJson | null };

describe.each(ledgerBackends("settlement SQL"))("settlement scenarios on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
    await ledger.db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
      values ('retired', 'retired', 1999, 'USD', 100, false)`);
  });
  afterAll(() => ledger.close());

  const newOrder = async (user = randomUUID(), orderId?: string, pkg = "credits_100") =>
    ledger.call<OrderJson>("create_order", {
      p_user_id: user,
      p_package_id: pkg,
      p_provider: "stripe",
      p_now: T0,
      p_order_id: orderId ?? null,
    });
  const pay = (orderId: string, ref: string, extra: Record<string, unknown> = {}) =>
    ledger.call<Outcome>("apply_payment", {
      p_provider: "stripe",
      p_order_id: orderId,
      p_payment_ref: ref,
      p_amount_minor: 1999,
      p_currency: "USD",
      p_paid_at: at(1),
      p_source: "webhook",
      p_now: at(1),
      ...extra,
    });
  const refund = (ref: string, amount: number, by: { orderId?: string; paymentRef?: string }) =>
    ledger.call<Outcome>("apply_refund", {
      p_provider: "stripe",
      p_order_id: by.orderId ?? null,
      p_refund_ref: ref,
      p_amount_minor: amount,
      p_currency: "USD",
      p_source: "webhook",
      p_now: at(2),
      p_payment_ref: by.paymentRef ?? null,
    });
  const failRefund = (ref: string) =>
    ledger.call<Outcome>("fail_refund", {
      p_provider: "stripe",
      p_refund_ref: ref,
      p_source: "webhook",
      p_now: at(3),
    });
  const resolve = (orderId: string, resolution: string) =>
    ledger.call<Outcome>("resolve_review", {
      p_order_id: orderId,
      p_resolution: resolution,
      p_note: "checked",
      p_now: at(5),
    });
  const balanceOf = async (user: string) => {
    const { rows } = await ledger.db.query<{ n: string }>(
      "select coalesce(sum(credits), 0) as n from payguard.credit_ledger where user_id = $1",
      [user],
    );
    return Number(rows[0]?.n);
  };
  const orderOf = (id: string) =>
    ledger.call<OrderJson & { timeline: { kind: string; detail: Record<string, unknown> }[] }>("get_order", {
      p_order_id: id,
    });
  const uid = () => randomUUID().replaceAll("-", "").slice(0, 16);

  it("holds a refund matched only by a payment reference not seen yet, and applies it with the payment", async () => {
    const order = await newOrder();
    const pi = `pi_${uid()}`;
    expect((await refund(`re_${uid()}`, 1999, { paymentRef: pi })).outcome).toBe("held");
    expect(await balanceOf(order.user_id)).toBe(0);
    const paid = await pay(order.id, pi);
    expect(paid.order?.status).toBe("refunded");
    expect(await balanceOf(order.user_id)).toBe(0);
    const { rows } = await ledger.db.query("select * from payguard.held_facts where payment_ref = $1", [pi]);
    expect(rows).toEqual([]);
  });

  it("holds a refund for an order not paid here yet (by order id), and applies it with the payment", async () => {
    const order = await newOrder();
    expect((await refund(`re_${uid()}`, 500, { orderId: order.id })).outcome).toBe("held");
    expect((await pay(order.id, `pi_${uid()}`)).order?.status).toBe("partially_refunded");
    expect(await balanceOf(order.user_id)).toBe(100 - Math.floor((100 * 500) / 1999));
  });

  it("holds a payment for an order not written and without metadata, and applies it when the order is written", async () => {
    const user = randomUUID();
    const orderId = `ord_${uid()}`;
    expect((await pay(orderId, `pi_${uid()}`)).outcome).toBe("held");
    const created = await newOrder(user, orderId);
    expect(created.status).toBe("fulfilled");
    expect(await balanceOf(user)).toBe(100);
  });

  it("a held payment whose metadata names another user puts the order written later in review", async () => {
    const orderId = `ord_${uid()}`;
    const claims = { user_id: randomUUID(), order_id: orderId };
    expect((await pay(orderId, `pi_${uid()}`, { p_metadata: claims })).outcome).toBe("held");
    const created = await newOrder(randomUUID(), orderId);
    expect(created.status).toBe("needs_review");
    expect(await balanceOf(created.user_id)).toBe(0);
  });

  it("reports a held fact older than six hours as held_fact_stale", async () => {
    const pi = `pi_${uid()}`;
    await refund(`re_${uid()}`, 100, { paymentRef: pi });
    const findings = await ledger.call<{ kind: string; detail: { payment_ref: string } }[]>("audit_ledger", {
      p_now: at(7 * 60),
    });
    expect(findings.some((f) => f.kind === "held_fact_stale" && f.detail.payment_ref === pi)).toBe(true);
  });

  it("records a payment on an order in review, with its reference, time and amount, and credits it once", async () => {
    const order = await newOrder();
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "operator check", p_now: T0 });
    const pi = `pi_${uid()}`;
    expect((await pay(order.id, pi)).outcome).toBe("needs_review");
    const { rows } = await ledger.db.query<{ role: string; amount_minor: string }>(
      "select role, amount_minor from payguard.order_payments where payment_ref = $1",
      [pi],
    );
    expect(rows).toEqual([{ role: "primary", amount_minor: expect.anything() }]);
    expect((await orderOf(order.id)).payment_ref).toBe(pi);
    expect((await resolve(order.id, "fulfil")).outcome).toBe("fulfilled");
    expect(await balanceOf(order.user_id)).toBe(100);
  });

  it("review: paid then fully refunded, fulfilled → refunded with net 0 credits", async () => {
    const order = await newOrder();
    const pi = `pi_${uid()}`;
    await pay(order.id, pi);
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "chargeback", p_now: at(1) });
    expect((await refund(`re_${uid()}`, 1999, { paymentRef: pi })).outcome).toBe("needs_review");
    const { rows } = await ledger.db.query("select * from payguard.payment_refunds where order_id = $1", [
      order.id,
    ]);
    expect(rows).toHaveLength(1);
    expect((await resolve(order.id, "fulfil")).outcome).toBe("refunded");
    expect(await balanceOf(order.user_id)).toBe(0);
    expect((await orderOf(order.id)).payment_ref).toBe(pi);
  });

  it("review: paid twice, fulfilled → one grant and an incident naming the payment to refund", async () => {
    const order = await newOrder();
    const first = `pi_a${uid()}`;
    const second = `pi_b${uid()}`;
    await pay(order.id, first);
    expect((await pay(order.id, second, { p_paid_at: at(2) })).outcome).toBe("mismatch");
    expect((await resolve(order.id, "fulfil")).outcome).toBe("fulfilled");
    expect(await balanceOf(order.user_id)).toBe(100);
    const incidents = await ledger.db.query<{ summary: string; detail: { refund: string[]; keep: string } }>(
      "select summary, detail from payguard.incident_outbox where key = $1 and action = 'raise'",
      [`refund_other_payments:${order.id}`],
    );
    expect(incidents.rows[0]?.detail).toMatchObject({ keep: first, refund: [second] });
    expect(incidents.rows[0]?.summary).toContain(second);
  });

  it("review: rejected → no purchase grant left standing", async () => {
    const order = await newOrder();
    await pay(order.id, `pi_${uid()}`);
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "fraud", p_now: at(1) });
    expect(await balanceOf(order.user_id)).toBe(100);
    expect((await resolve(order.id, "reject")).outcome).toBe("failed");
    expect(await balanceOf(order.user_id)).toBe(0);
    const findings = await ledger.call<{ kind: string; subject: string }[]>("audit_ledger", { p_now: at(6) });
    expect(findings.filter((f) => f.subject === order.id && f.kind !== "pending_past_expiry")).toEqual([]);
  });

  it("review: never invents a payment reference (no payment recorded → fulfil refused)", async () => {
    const order = await newOrder();
    await ledger.call("flag_order", { p_order_id: order.id, p_reason: "customer says paid", p_now: at(1) });
    await expect(resolve(order.id, "fulfil")).rejects.toThrow(/no recorded payment/);
    expect((await orderOf(order.id)).payment_ref).toBeNull();
    expect(await balanceOf(order.user_id)).toBe(0);
  });

  it("a payment whose metadata names another user puts the order in review, never a silent credit", async () => {
    const order = await newOrder();
    const paid = await pay(order.id, `pi_${uid()}`, {
      p_metadata: { user_id: randomUUID(), package_id: "credits_100", order_id: order.id },
    });
    expect(paid.order?.status).toBe("needs_review");
    expect(await balanceOf(order.user_id)).toBe(0);
  });

  it("the stored session id decides the order: a client_reference_id naming another order → review", async () => {
    const mine = await newOrder();
    const other = await newOrder();
    await ledger.call("set_provider_ref", { p_order_id: mine.id, p_provider_ref: `cs_${uid()}`, p_now: T0 });
    const { provider_ref } = await ledger.call<{ provider_ref: string }>("get_order", {
      p_order_id: mine.id,
    });
    const paid = await pay(other.id, `pi_${uid()}`, { p_provider_ref: provider_ref });
    expect(paid.order?.id).toBe(mine.id);
    expect(paid.order?.status).toBe("needs_review");
    expect(await balanceOf(mine.user_id)).toBe(0);
    expect(await balanceOf(other.user_id)).toBe(0);
    expect((await orderOf(other.id)).status).toBe("pending");
  });

  it("rebuilds a missing order from metadata only for an active package within its stock; otherwise review", async () => {
    const user = randomUUID();
    const retired = await pay(`ord_${uid()}`, `pi_${uid()}`, {
      p_metadata: { user_id: user, package_id: "retired" },
    });
    expect(retired.order?.status).toBe("needs_review");
    await newOrder(randomUUID(), undefined, "limited");
    const soldOut = await pay(`ord_${uid()}`, `pi_${uid()}`, {
      p_amount_minor: 500,
      p_metadata: { user_id: user, package_id: "limited" },
    });
    expect(soldOut.order?.status).toBe("needs_review");
    const ok = await pay(`ord_${uid()}`, `pi_${uid()}`, {
      p_metadata: { user_id: randomUUID(), package_id: "credits_100" },
    });
    expect(ok.outcome).toBe("created_from_metadata");
  });

  it("a refund that fails after its clawback reverses the clawback once (keyed by refund id)", async () => {
    const order = await newOrder();
    const pi = `pi_${uid()}`;
    const re = `re_${uid()}`;
    await pay(order.id, pi);
    await refund(re, 1999, { paymentRef: pi });
    expect(await balanceOf(order.user_id)).toBe(0);
    expect((await failRefund(re)).order?.status).toBe("fulfilled");
    expect((await failRefund(re)).outcome).toBe("duplicate");
    expect(await balanceOf(order.user_id)).toBe(100);
    const { rows } = await ledger.db.query<{ kind: string }>(
      "select kind from payguard.credit_ledger where refund_ref = $1 order by id",
      [re],
    );
    expect(rows.map((r) => r.kind)).toEqual(["clawback", "adjustment"]);
  });

  it("a refund failure that arrives before the refund leaves the refund failed and claws nothing", async () => {
    const order = await newOrder();
    const pi = `pi_${uid()}`;
    const re = `re_${uid()}`;
    await pay(order.id, pi);
    expect((await failRefund(re)).outcome).toBe("refund_failed");
    await refund(re, 1999, { paymentRef: pi });
    expect(await balanceOf(order.user_id)).toBe(100);
    expect((await orderOf(order.id)).status).toBe("fulfilled");
  });

  it("a payment matches when amount + discount = the order amount; the discount is on the order and timeline", async () => {
    const order = await newOrder();
    const paid = await pay(order.id, `pi_${uid()}`, { p_amount_minor: 1499, p_discount_minor: 500 });
    expect(paid.outcome).toBe("fulfilled");
    expect(Number(paid.order?.discount_minor)).toBe(500);
    expect(await balanceOf(order.user_id)).toBe(100);
    const timeline = (await orderOf(order.id)).timeline;
    expect(timeline.find((e) => e.kind === "paid")?.detail).toMatchObject({ discount_minor: 500 });
    const wrong = await newOrder();
    expect(
      (await pay(wrong.id, `pi_${uid()}`, { p_amount_minor: 1499, p_discount_minor: 400 })).outcome,
    ).toBe("mismatch");
  });

  it("a full refund of a discounted payment claws back every credit", async () => {
    const order = await newOrder();
    const pi = `pi_${uid()}`;
    await pay(order.id, pi, { p_amount_minor: 1499, p_discount_minor: 500 });
    expect((await refund(`re_${uid()}`, 1499, { paymentRef: pi })).outcome).toBe("refunded");
    expect(await balanceOf(order.user_id)).toBe(0);
  });
});
