import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../dev/migrate.ts";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

interface OrderJson {
  id: string;
  status: string;
  user_id: string;
  next_check_at: string | null;
  check_attempts: number;
  refunded_minor: number;
}
type Outcome = { outcome: string; order: OrderJson | null };

describe.each(ledgerBackends("ledger SQL"))("ledger functions on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const createOrder = async (user = randomUUID(), pkg = "credits_100", now = T0) =>
    ledger.call<OrderJson>("create_order", {
      p_user_id: user,
      p_package_id: pkg,
      p_provider: "stripe",
      p_now: now,
    });
  const pay = (orderId: string, overrides: Record<string, unknown> = {}) =>
    ledger.call<Outcome>("apply_payment", {
      p_provider: "stripe",
      p_order_id: orderId,
      p_payment_ref: `pi_${orderId}`,
      p_amount_minor: 1999,
      p_currency: "usd",
      p_paid_at: at(1),
      p_source: "webhook",
      p_now: at(1),
      ...overrides,
    });
  const refund = (orderId: string, refundRef: string, amount: number, currency = "USD") =>
    ledger.call<Outcome>("apply_refund", {
      p_provider: "stripe",
      p_order_id: orderId,
      p_refund_ref: refundRef,
      p_amount_minor: amount,
      p_currency: currency,
      p_source: "webhook",
      p_now: at(2),
    });
  const ledgerOf = async (user: string) => {
    const rows = await ledger.db.query<{ kind: string; credits: string }>(
      "select kind, credits from payguard.credit_ledger where user_id = $1 order by id",
      [user],
    );
    const balance = await ledger.db.query<{ credits: string }>(
      "select credits from payguard.credit_balances where user_id = $1",
      [user],
    );
    return {
      rows: rows.rows.map((r) => [r.kind, Number(r.credits)]),
      balance: Number(balance.rows[0]?.credits ?? 0),
    };
  };

  it("applies nothing when the migrations run a second time", async () => {
    expect(await applyMigrations(ledger.db)).toEqual([]);
  });

  it("enables row-level security on every table in public", async () => {
    const { rows } = await ledger.db.query<{ relname: string; relrowsecurity: boolean }>(
      `select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'payguard' and c.relkind = 'r'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(rows.filter((r) => !r.relrowsecurity)).toEqual([]);
  });

  it("creates orders with snapshot prices, generated ids that fit WeChat, and is idempotent by id", async () => {
    const user = randomUUID();
    const order = await createOrder(user);
    expect(order).toMatchObject({ status: "pending", amount_minor: 1999, currency: "USD", credits: 100 });
    expect(order.id).toMatch(/^ord_[0-9a-f]{24}$/);
    const again = await ledger.call<OrderJson>("create_order", {
      p_user_id: user,
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: T0,
      p_order_id: order.id,
    });
    expect(again.id).toBe(order.id);
  });

  it("refuses an order when the package's stock is held", async () => {
    await createOrder(randomUUID(), "limited");
    await expect(createOrder(randomUUID(), "limited")).rejects.toMatchObject({
      code: "P0001",
      message: "out_of_stock",
    });
  });

  it("fulfils once, then answers duplicate without touching the ledger", async () => {
    const order = await createOrder();
    expect((await pay(order.id)).outcome).toBe("fulfilled");
    expect((await pay(order.id)).outcome).toBe("duplicate");
    expect(await ledgerOf(order.user_id)).toEqual({ rows: [["purchase", 100]], balance: 100 });
  });

  it.each([
    ["a different amount", { p_amount_minor: 999 }],
    ["a different currency", { p_currency: "eur" }],
    ["a different provider", { p_provider: "wechatpay" }],
  ])("never credits %s and puts the order in review", async (_case, overrides) => {
    const order = await createOrder();
    const result = await pay(order.id, overrides);
    expect(result.outcome).toBe("mismatch");
    expect(result.order?.status).toBe("needs_review");
    expect(await ledgerOf(order.user_id)).toEqual({ rows: [], balance: 0 });
  });

  it("flags a second payment through another channel instead of crediting twice", async () => {
    const order = await createOrder();
    await pay(order.id);
    const second = await pay(order.id, { p_payment_ref: "pi_other_channel" });
    expect(second).toMatchObject({ outcome: "mismatch", order: { status: "needs_review" } });
    expect((await ledgerOf(order.user_id)).balance).toBe(100);
  });

  it("credits a late payment for an expired order once and says so", async () => {
    const order = await createOrder();
    expect(
      (
        await ledger.call<Outcome>("expire_order", {
          p_order_id: order.id,
          p_reason: "timeout",
          p_now: at(40),
        })
      ).outcome,
    ).toBe("expired");
    expect((await pay(order.id)).outcome).toBe("late_payment");
    expect((await pay(order.id)).outcome).toBe("duplicate");
    expect((await ledgerOf(order.user_id)).balance).toBe(100);
  });

  it("rebuilds a missing order from metadata, and holds payments it cannot place yet", async () => {
    const user = randomUUID();
    const orderId = `ord_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const metadata = { user_id: user, package_id: "credits_100" };
    expect((await pay(orderId, { p_metadata: metadata })).outcome).toBe("created_from_metadata");
    expect((await pay(orderId, { p_metadata: metadata })).outcome).toBe("duplicate");
    expect((await ledgerOf(user)).balance).toBe(100);
    expect((await pay("ord_nobody_knows_this", {})).outcome).toBe("held");
    expect(
      (await pay("ord_nobody_knows_this", { p_metadata: { user_id: "not-a-uuid", package_id: "x" } }))
        .outcome,
    ).toBe("duplicate");
  });

  const TERMINAL_SETUP: Record<string, (id: string) => Promise<unknown>> = {
    fulfilled: (id) => pay(id),
    partially_refunded: async (id) => {
      await pay(id);
      await refund(id, `re_p_${id}`, 100);
    },
    refunded: async (id) => {
      await pay(id);
      await refund(id, `re_f_${id}`, 1999);
    },
    expired: (id) => ledger.call("expire_order", { p_order_id: id, p_reason: "t", p_now: at(1) }),
    failed: (id) => ledger.call("fail_order", { p_order_id: id, p_reason: "t", p_now: at(1) }),
    needs_review: (id) => ledger.call("flag_order", { p_order_id: id, p_reason: "t", p_now: at(1) }),
  };
  const TRANSITIONS: Record<string, (id: string) => Promise<unknown>> = {
    expire_order: (id) => ledger.call("expire_order", { p_order_id: id, p_reason: "x", p_now: at(5) }),
    fail_order: (id) => ledger.call("fail_order", { p_order_id: id, p_reason: "x", p_now: at(5) }),
    record_check: (id) => ledger.call("record_check", { p_order_id: id, p_now: at(5) }),
  };
  const cases = Object.keys(TERMINAL_SETUP).flatMap((state) =>
    Object.keys(TRANSITIONS).map((t) => [state, t]),
  );

  it.each(cases)("never moves a %s order with %s", async (state, transition) => {
    const order = await createOrder();
    await TERMINAL_SETUP[state]?.(order.id);
    const before = await ledgerOf(order.user_id);
    await TRANSITIONS[transition]?.(order.id);
    const after = await ledger.call<OrderJson>("get_order", { p_order_id: order.id });
    expect(after.status).toBe(state);
    expect(await ledgerOf(order.user_id)).toEqual(before);
  });

  it("adds partial refunds up, claws back each refund id once and never more than the grant", async () => {
    const order = await createOrder();
    await pay(order.id);
    expect((await refund(order.id, "re_1", 1000)).outcome).toBe("partially_refunded");
    expect((await refund(order.id, "re_1", 1000)).outcome).toBe("duplicate");
    expect((await refund(order.id, "re_2", 999)).outcome).toBe("refunded");
    const { rows, balance } = await ledgerOf(order.user_id);
    expect(rows).toEqual([
      ["purchase", 100],
      ["clawback", -50],
      ["clawback", -50],
    ]);
    expect(balance).toBe(0);
    // One more refund than was paid: recorded, and the order goes to review with nothing more taken.
    expect((await refund(order.id, "re_3", 1)).outcome).toBe("needs_review");
    expect((await ledgerOf(order.user_id)).balance).toBe(0);
    const { rows: recorded } = await ledger.db.query(
      "select refund_ref from payguard.payment_refunds where order_id = $1",
      [order.id],
    );
    expect(recorded).toHaveLength(3);
  });

  it("records a refund larger than the payment or in another currency, claws nothing for it, and asks for review", async () => {
    const order = await createOrder();
    await pay(order.id);
    expect((await refund(order.id, "re_big", 5000)).outcome).toBe("needs_review");
    const other = await createOrder();
    await pay(other.id);
    expect((await refund(other.id, "re_eur", 100, "EUR")).outcome).toBe("needs_review");
    // The whole payment is back (5000 of 1999): every credit goes; a refund in another currency takes none.
    expect((await ledgerOf(order.user_id)).balance).toBe(0);
    expect((await ledgerOf(other.user_id)).balance).toBe(100);
    const { rows } = await ledger.db.query<{ order_id: string; currency: string; review_reason: string }>(
      `select r.order_id, r.currency, o.review_reason from payguard.payment_refunds r
         join payguard.payment_orders o on o.id = r.order_id where r.order_id = any($1) order by r.amount_minor`,
      [[order.id, other.id]],
    );
    expect(rows.map((row) => [row.order_id, row.currency])).toEqual([
      [other.id, "EUR"],
      [order.id, "USD"],
    ]);
    expect(rows[0]?.review_reason).toContain("not in the order's currency");
    expect(rows[1]?.review_reason).toContain("exceed");
  });

  it("backs off between checks and schedules the last one at expiry", async () => {
    const order = await createOrder();
    const first = await ledger.call<OrderJson>("record_check", { p_order_id: order.id, p_now: at(1) });
    expect(first.check_attempts).toBe(1);
    expect(first.next_check_at).toBe(new Date(Date.parse(at(2))).toISOString().replace(".000Z", "+00:00"));
    const late = await ledger.call<OrderJson>("record_check", { p_order_id: order.id, p_now: at(29) });
    expect(Date.parse(late.next_check_at ?? "")).toBe(Date.parse(at(30)));
  });

  it("leases due orders once: a second lease in the same window gets none of them", async () => {
    const due = await createOrder(randomUUID(), "credits_100", at(-120));
    const first = await ledger.call<OrderJson[]>("lease_due_orders", {
      p_limit: 500,
      p_lease_seconds: 300,
      p_now: at(0),
    });
    expect(first.map((o) => o.id)).toContain(due.id);
    const second = await ledger.call<OrderJson[]>("lease_due_orders", {
      p_limit: 500,
      p_lease_seconds: 300,
      p_now: at(1),
    });
    expect(second.map((o) => o.id)).not.toContain(due.id);
  });

  it("records inbox events as new, then duplicate once finished, and retry while unfinished", async () => {
    const record = () =>
      ledger.call<{ status: string }>("record_event", {
        p_provider: "stripe",
        p_event_id: "evt_inbox_1",
        p_event_type: "checkout.session.completed",
        p_order_id: null,
        p_now: T0,
      });
    const finish = (status: string) =>
      ledger.call("finish_event", {
        p_provider: "stripe",
        p_event_id: "evt_inbox_1",
        p_status: status,
        p_error: null,
        p_now: T0,
      });
    expect(await record()).toEqual({ status: "new" });
    expect(await record()).toEqual({ status: "retry" });
    await finish("failed");
    expect(await record()).toEqual({ status: "retry" });
    await finish("processed");
    expect(await record()).toEqual({ status: "duplicate" });
    await finish("failed");
    expect(await record()).toEqual({ status: "duplicate" });
  });

  it("deduplicates open incidents by key and reopens after resolution", async () => {
    const open = () =>
      ledger.call<{ id: number; opened: boolean }>("open_incident", {
        p_key: "k1",
        p_kind: "mismatch",
        p_severity: "critical",
        p_summary: "s",
        p_detail: {},
        p_now: T0,
      });
    const first = await open();
    expect(first.opened).toBe(true);
    expect(await open()).toEqual({ id: first.id, opened: false });
    expect(await ledger.call("resolve_incident", { p_key: "k1", p_now: T0 })).toEqual({ resolved: true });
    expect((await open()).opened).toBe(true);
  });

  it("records who acknowledged or muted an open incident, and refuses a mute that has already ended", async () => {
    await ledger.call("open_incident", {
      p_key: "triage",
      p_kind: "k",
      p_severity: "warning",
      p_summary: "s",
      p_detail: {},
      p_now: T0,
    });
    const until = new Date(Date.parse(T0) + 3600_000).toISOString();
    const ack = { p_key: "triage", p_actor: "ops-alice", p_now: T0 };
    expect(await ledger.call("acknowledge_incident", ack)).toEqual({ found: true });
    expect(await ledger.call("mute_incident", { ...ack, p_until: until })).toEqual({ found: true });
    const rows = await ledger.db.query(
      "select acknowledged_by, muted_by, muted_until is not null as muted from payguard.incidents where key = 'triage'",
    );
    expect(rows.rows).toEqual([{ acknowledged_by: "ops-alice", muted_by: "ops-alice", muted: true }]);
    await expect(ledger.call("mute_incident", { ...ack, p_until: T0 })).rejects.toMatchObject({
      code: "P0001",
    });
    expect(await ledger.call("acknowledge_incident", { ...ack, p_key: "nothing" })).toEqual({ found: false });
  });

  it("counts payments found only by re-query within the window asked for, not after it", async () => {
    // A time of its own, so no other test's re-queried payments fall in these windows.
    const x = (minutes: number) =>
      new Date(Date.parse("2031-03-01T00:00:00Z") + minutes * 60_000).toISOString();
    const order = await createOrder(randomUUID(), "credits_100", x(0));
    // Paid at minute 1, found by a re-query at minute 30: its callback never came.
    await pay(order.id, { p_source: "reconcile", p_paid_at: x(1), p_now: x(30) });
    const counted = async (since: number, until: number) =>
      (
        await ledger.call<{ count: number; first_order_id: string | null }>("callback_gaps", {
          p_provider: "stripe",
          p_since: x(since),
          p_until: x(until),
          p_delay_seconds: 600,
        })
      ).count;
    expect(await counted(0, 60)).toBe(1);
    expect(await counted(-60, 30)).toBe(0);
    expect(await counted(31, 120)).toBe(0);
  });
});
