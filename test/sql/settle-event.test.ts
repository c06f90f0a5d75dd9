/**
 * payguard.settle_event: one provider event in one transaction (inbox record, order lookup, every fact
 * through the settlement functions, inbox finish). On PGlite always and real Postgres when DATABASE_URL is
 * set; redeliveries on separate connections only on Postgres.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, openPostgresLedger, PACKAGE_SQL } from "../support/node/ledger-db.ts";
import { connectPatiently } from "../support/node/scratch-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const LATER = "2026-11-23T12:00:00.000Z";
const CONCURRENT_DELIVERIES = 20;

const SETTLE_SQL = `select payguard.settle_event(p_provider => $1, p_event_id => $2, p_event_type => $3,
  p_locator => $4::jsonb, p_facts => $5::jsonb, p_source => 'webhook', p_now => $6::timestamptz,
  p_note => $7) as result`;

type Settled =
  | { status: "duplicate" | "unlocated" }
  | {
      status: "settled";
      finished: boolean;
      results: Array<{ outcome: string; order_id: string | null; order: { status: string } | null }>;
      incidents?: Array<{ id: number; action: string; key: string; kind: string | null }>;
    };

interface EventCall {
  eventId: string;
  locator?: { by: string | null; ref: string | null; claimed_order_id: string | null };
  facts: Record<string, unknown>[];
  now?: string;
  note?: string;
  type?: string;
}

const params = (call: EventCall) => [
  "stripe",
  call.eventId,
  call.type ?? "checkout.session.completed",
  JSON.stringify(call.locator ?? { by: null, ref: null, claimed_order_id: null }),
  JSON.stringify(call.facts),
  call.now ?? T0,
  call.note ?? null,
];

const paidFact = (orderId: string | null, paymentRef: string, amountMinor = 1999) => ({
  kind: "paid",
  provider: "stripe",
  order_id: orderId,
  payment_ref: paymentRef,
  amount_minor: amountMinor,
  discount_minor: 0,
  currency: "USD",
  paid_at: T0,
  provider_ref: null,
  metadata: null,
});

const refundFact = (paymentRef: string, refundRef: string, amountMinor: number) => ({
  kind: "refunded",
  provider: "stripe",
  order_id: null,
  payment_ref: paymentRef,
  refund_ref: refundRef,
  amount_minor: amountMinor,
  currency: "USD",
});

for (const [backend, open] of ledgerBackends("settle_event SQL")) {
  describe(`settle_event (${backend})`, () => {
    let ledger: LedgerDb;
    beforeAll(async () => {
      ledger = await open();
      await ledger.db.exec(PACKAGE_SQL);
    });
    afterAll(() => ledger.close());

    const settle = async (call: EventCall): Promise<Settled> => {
      const rows = await ledger.asRole<{ result: Settled }>("service_role", SETTLE_SQL, params(call));
      return rows[0]?.result as Settled;
    };
    const createOrder = async (now = T0) =>
      (
        await ledger.call<{ id: string }>("create_order", {
          p_user_id: randomUUID(),
          p_package_id: "credits_100",
          p_provider: "stripe",
          p_now: now,
        })
      ).id;
    const inbox = async (eventId: string) =>
      (
        await ledger.db.query<{ status: string; last_error: string | null }>(
          "select status, last_error from payguard.webhook_events where event_id = $1",
          [eventId],
        )
      ).rows;
    const grants = async (orderId: string) =>
      (
        await ledger.db.query<{ n: number }>(
          "select count(*)::int as n from payguard.credit_ledger where order_id = $1 and kind = 'purchase'",
          [orderId],
        )
      ).rows[0]?.n;

    it("records, credits and finishes a new event in one call; its redelivery is a duplicate", async () => {
      const orderId = await createOrder();
      const eventId = `evt_${randomUUID()}`;
      const call = {
        eventId,
        locator: { by: "session", ref: `cs_${orderId}`, claimed_order_id: orderId },
        facts: [paidFact(null, `pi_${orderId}`)],
      };
      expect(await settle(call)).toMatchObject({
        status: "settled",
        finished: true,
        results: [{ outcome: "fulfilled", order_id: orderId, order: { status: "fulfilled" } }],
      });
      expect(await inbox(eventId)).toEqual([{ status: "processed", last_error: null }]);
      expect(await settle(call)).toEqual({ status: "duplicate" });
      expect(await grants(orderId)).toBe(1);
    });

    it("settles the order payguard stored for the session, not the one the event claims", async () => {
      const stored = await createOrder();
      const other = await createOrder();
      await ledger.call("set_provider_ref", {
        p_order_id: stored,
        p_provider_ref: `cs_${stored}`,
        p_now: T0,
      });
      const result = await settle({
        eventId: `evt_${randomUUID()}`,
        locator: { by: "session", ref: `cs_${stored}`, claimed_order_id: other },
        facts: [{ ...paidFact(null, `pi_${stored}`), provider_ref: `cs_${stored}` }],
      });
      expect(result).toMatchObject({
        status: "settled",
        results: [{ outcome: "fulfilled", order_id: stored }],
      });
      expect(await grants(stored)).toBe(1);
      expect(await grants(other)).toBe(0);
    });

    it("finishes the row and hands over the incident it wrote to the outbox in the same transaction (late payment)", async () => {
      const orderId = await createOrder();
      await ledger.call("expire_order", { p_order_id: orderId, p_reason: "test", p_now: LATER });
      const eventId = `evt_${randomUUID()}`;
      const call = {
        eventId,
        locator: { by: null, ref: null, claimed_order_id: orderId },
        facts: [paidFact(null, `pi_${orderId}`)],
        now: LATER,
      };
      const settled = await settle(call);
      expect(settled).toMatchObject({
        status: "settled",
        finished: true,
        results: [{ outcome: "late_payment" }],
        incidents: [{ action: "raise", key: `late_payment:${orderId}`, kind: "late_payment" }],
      });
      expect(await inbox(eventId)).toEqual([{ status: "processed", last_error: null }]);
      // The incident outlives the answer: a redelivery is a duplicate and hands over what is still undelivered.
      const id = settled.status === "settled" ? settled.incidents?.[0]?.id : undefined;
      expect(await settle(call)).toEqual({
        status: "duplicate",
        incidents: [expect.objectContaining({ id, action: "raise", key: `late_payment:${orderId}` })],
      });
      await ledger.call("finish_incident_outbox", { p_ids: `{${id}}` });
      expect(await settle(call)).toEqual({ status: "duplicate" });
      expect(await grants(orderId)).toBe(1);
    });

    it("answers unlocated for a payment that names no order, and keeps the row for the audit", async () => {
      const eventId = `evt_${randomUUID()}`;
      expect(
        await settle({
          eventId,
          locator: { by: "session", ref: `cs_${randomUUID()}`, claimed_order_id: null },
          facts: [paidFact(null, `pi_${randomUUID()}`)],
        }),
      ).toEqual({ status: "unlocated" });
      expect(await inbox(eventId)).toEqual([{ status: "received", last_error: null }]);
    });

    it("finishes an event without facts as ignored, with its reason", async () => {
      const eventId = `evt_${randomUUID()}`;
      expect(await settle({ eventId, facts: [], note: "unhandled type customer.created" })).toEqual({
        status: "settled",
        finished: true,
        results: [],
      });
      expect(await inbox(eventId)).toEqual([
        { status: "ignored", last_error: "unhandled type customer.created" },
      ]);
    });

    it("settles in any order: a refund event before its payment is held, then applied with it", async () => {
      const orderId = await createOrder();
      const refund = await settle({
        eventId: `evt_${randomUUID()}`,
        type: "refund.created",
        locator: { by: "payment", ref: `pi_${orderId}`, claimed_order_id: null },
        facts: [refundFact(`pi_${orderId}`, `re_${orderId}`, 1999)],
      });
      expect(refund).toMatchObject({ status: "settled", results: [{ outcome: "held" }] });
      const paid = await settle({
        eventId: `evt_${randomUUID()}`,
        locator: { by: "session", ref: `cs_${orderId}`, claimed_order_id: orderId },
        facts: [paidFact(null, `pi_${orderId}`)],
      });
      expect(paid).toMatchObject({ status: "settled", results: [{ order: { status: "refunded" } }] });
      const balance = await ledger.db.query<{ total: number }>(
        "select coalesce(sum(credits), 0)::int as total from payguard.credit_ledger where order_id = $1",
        [orderId],
      );
      expect(balance.rows[0]?.total).toBe(0);
    });

    it("rolls the whole event back, inbox row included, when the app hook raises (P0H01)", async () => {
      const orderId = await createOrder();
      const eventId = `evt_${randomUUID()}`;
      await ledger.db.exec(`create schema payguard_app;
        create function payguard_app.on_settled(change jsonb) returns void language plpgsql
        as $$ begin raise exception 'app is down'; end $$;`);
      try {
        await expect(
          settle({
            eventId,
            locator: { by: null, ref: null, claimed_order_id: orderId },
            facts: [paidFact(null, `pi_${orderId}`)],
          }),
        ).rejects.toMatchObject({ code: "P0H01" });
      } finally {
        await ledger.db.exec("drop schema payguard_app cascade");
      }
      expect(await inbox(eventId)).toEqual([]);
      expect(await grants(orderId)).toBe(0);
    });

    it("refuses an unknown fact kind and changes nothing", async () => {
      const eventId = `evt_${randomUUID()}`;
      await expect(
        settle({
          eventId,
          locator: { by: null, ref: null, claimed_order_id: "ord_x" },
          facts: [{ kind: "gift", provider: "stripe" }],
        }),
      ).rejects.toMatchObject({ code: "P0001" });
      expect(await inbox(eventId)).toEqual([]);
    });
  });
}

const base = process.env.DATABASE_URL;
describe.skipIf(!base)("settle_event under real concurrency (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  async function onOwnConnection(call: EventCall): Promise<Settled> {
    const client: pg.Client = await connectPatiently(ledger.url);
    try {
      await client.query("begin");
      await client.query("select set_config('role', 'service_role', true)");
      const { rows } = await client.query(SETTLE_SQL, params(call));
      await client.query("commit");
      return rows[0]?.result as Settled;
    } finally {
      await client.end();
    }
  }

  it(`claws back once when ${CONCURRENT_DELIVERIES} events carry the same refund at once (two event families)`, async () => {
    const order = await ledger.call<{ id: string }>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: T0,
    });
    await onOwnConnection({
      eventId: `evt_${randomUUID()}`,
      locator: { by: null, ref: null, claimed_order_id: order.id },
      facts: [paidFact(null, `pi_${order.id}`)],
    });
    // charge.refunded and refund.created are different events about one refund: the inbox lets both in.
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT_DELIVERIES }, () =>
        onOwnConnection({
          eventId: `evt_${randomUUID()}`,
          type: "refund.created",
          locator: { by: "payment", ref: `pi_${order.id}`, claimed_order_id: null },
          facts: [refundFact(`pi_${order.id}`, `re_${order.id}`, 1999)],
        }),
      ),
    );
    const outcomes = answers.map((a) => (a.status === "settled" ? a.results[0]?.outcome : a.status));
    expect(outcomes.filter((o) => o === "refunded")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(CONCURRENT_DELIVERIES - 1);
    const state = await ledger.db.query<{ status: string; total: number }>(
      `select o.status, (select coalesce(sum(credits), 0)::int from payguard.credit_ledger where order_id = o.id) as total
         from payguard.payment_orders o where o.id = $1`,
      [order.id],
    );
    expect(state.rows).toEqual([{ status: "refunded", total: 0 }]);
  });

  it(`grants once when ${CONCURRENT_DELIVERIES} connections deliver the same event at once`, async () => {
    const order = await ledger.call<{ id: string }>("create_order", {
      p_user_id: randomUUID(),
      p_package_id: "credits_100",
      p_provider: "stripe",
      p_now: T0,
    });
    const call = {
      eventId: `evt_${randomUUID()}`,
      locator: { by: "session", ref: `cs_${order.id}`, claimed_order_id: order.id },
      facts: [paidFact(null, `pi_${order.id}`)],
    };
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT_DELIVERIES }, () => onOwnConnection(call)),
    );
    // The redeliveries wait on the inbox row of the one in flight, then see it finished.
    expect(answers.filter((a) => a.status === "settled")).toHaveLength(1);
    expect(answers.filter((a) => a.status === "duplicate")).toHaveLength(CONCURRENT_DELIVERIES - 1);
    const rows = await ledger.db.query("select 1 from payguard.credit_ledger where order_id = $1", [
      order.id,
    ]);
    expect(rows.rows).toHaveLength(1);
  });
});
