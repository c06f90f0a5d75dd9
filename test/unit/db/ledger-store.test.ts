/**
 * The supabase-js adapter against a recording client: which function each method calls with which
 * arguments (the SQL signatures of 20261204000000_payguard_exactly_once), and how the outbox incidents a
 * settlement answers come back as OutboxIncident.
 */
import { describe, expect, it } from "vitest";
import { createSupabaseLedgerStore } from "../../../src/db/ledger-store.ts";
import type { PayguardClient } from "../../../src/db/rpc.ts";
import type { EventFact, ProviderEvent } from "../../../src/ledger/types.ts";

const NOW_MS = Date.UTC(2026, 11, 4, 12, 0, 0);
const NOW = new Date(NOW_MS).toISOString();

/** A client whose every `.rpc()` is recorded and answered with `data`. */
function recordingClient(data: unknown) {
  const calls: Array<{ fn: string; args: Record<string, unknown> }> = [];
  const client = {
    rpc: (fn: string, args: Record<string, unknown>) => {
      calls.push({ fn, args });
      return { abortSignal: async () => ({ data, error: null, status: 200 }) };
    },
  } as unknown as PayguardClient;
  return { client, calls };
}

const ORDER_ROW = {
  id: "ord_1",
  user_id: "u1",
  package_id: "credits_100",
  provider: "stripe",
  status: "fulfilled",
  amount_minor: 1999,
  currency: "USD",
  credits: 100,
  provider_ref: "cs_1",
  payment_ref: "pi_1",
  discount_minor: 0,
  created_at: NOW,
  expires_at: NOW,
  next_check_at: null,
  check_attempts: 0,
};

const OUTBOX_ROWS = [
  {
    id: 41,
    action: "raise",
    key: "late_payment:ord_1",
    kind: "late_payment",
    severity: "warning",
    summary: "Order ord_1 was paid after it expired; credited",
    detail: { order_id: "ord_1" },
    created_at: NOW,
  },
  {
    id: "42",
    action: "resolve",
    key: "app_hook_failed:ord_1",
    kind: null,
    severity: null,
    summary: null,
    detail: null,
    created_at: NOW,
  },
];

const OUTBOX_INCIDENTS = [
  {
    id: 41,
    action: "raise",
    incident: {
      key: "late_payment:ord_1",
      kind: "late_payment",
      severity: "warning",
      summary: "Order ord_1 was paid after it expired; credited",
      detail: { order_id: "ord_1" },
    },
    createdAtMs: NOW_MS,
  },
  { id: 42, action: "resolve", key: "app_hook_failed:ord_1", createdAtMs: NOW_MS },
];

const event = (facts: EventFact[]): ProviderEvent => ({
  provider: "stripe",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  locator: { by: "session", ref: "cs_1", claimedOrderId: "ord_1" },
  facts,
  source: "webhook",
});

describe("settle_event through the adapter", () => {
  it("sends the new signature (no quiet lists) and every fact kind's fields as _settle_fact reads them", async () => {
    const { client, calls } = recordingClient({ status: "duplicate" });
    const store = createSupabaseLedgerStore(client);
    const facts: EventFact[] = [
      {
        kind: "paid",
        provider: "wechatpay",
        orderId: null,
        paymentRef: "tx_1",
        amountMinor: 990,
        currency: "CNY",
        paidAtMs: NOW_MS,
        refundedAtProvider: true,
      },
      {
        kind: "awaiting_payment",
        provider: "stripe",
        orderId: null,
        paymentRef: null,
        untilMs: NOW_MS + 60_000,
      },
      {
        kind: "disputed",
        provider: "stripe",
        orderId: null,
        paymentRef: "pi_1",
        disputeRef: "dp_1",
        amountMinor: 1999,
        currency: "USD",
        state: "lost",
        policy: "notify",
      },
    ];
    expect(await store.settleEvent({ ...event(facts), nowMs: NOW_MS })).toEqual({
      ok: true,
      value: { status: "duplicate", incidents: [] },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.fn).toBe("settle_event");
    expect(Object.keys(calls[0]?.args ?? {}).sort()).toEqual([
      "p_event_id",
      "p_event_type",
      "p_facts",
      "p_locator",
      "p_note",
      "p_now",
      "p_provider",
      "p_source",
    ]);
    expect(calls[0]?.args.p_facts).toEqual([
      expect.objectContaining({ kind: "paid", payment_ref: "tx_1", refunded_at_provider: true }),
      {
        kind: "awaiting_payment",
        provider: "stripe",
        order_id: null,
        payment_ref: null,
        until: new Date(NOW_MS + 60_000).toISOString(),
      },
      {
        kind: "disputed",
        provider: "stripe",
        order_id: null,
        payment_ref: "pi_1",
        dispute_ref: "dp_1",
        amount_minor: 1999,
        currency: "USD",
        state: "lost",
        policy: "notify",
      },
    ]);
  });

  it("a paid fact without a provider-side refund says so explicitly", async () => {
    const { client, calls } = recordingClient({ status: "duplicate" });
    const paid: EventFact = {
      kind: "paid",
      provider: "stripe",
      orderId: null,
      paymentRef: "pi_1",
      amountMinor: 1999,
      currency: "USD",
      paidAtMs: NOW_MS,
    };
    await createSupabaseLedgerStore(client).settleEvent({ ...event([paid]), nowMs: NOW_MS });
    expect(calls[0]?.args.p_facts).toEqual([expect.objectContaining({ refunded_at_provider: false })]);
  });

  it("hands back the settled results with the outbox incidents, in order; none when absent", async () => {
    const results = [{ outcome: "late_payment", order: ORDER_ROW, order_id: "ord_1" }];
    const withIncidents = recordingClient({
      status: "settled",
      finished: true,
      results,
      incidents: OUTBOX_ROWS,
    });
    const settled = await createSupabaseLedgerStore(withIncidents.client).settleEvent({
      ...event([]),
      nowMs: NOW_MS,
    });
    expect(settled).toMatchObject({
      ok: true,
      value: {
        status: "settled",
        results: [{ outcome: "late_payment", orderId: "ord_1", order: { id: "ord_1", status: "fulfilled" } }],
        incidents: OUTBOX_INCIDENTS,
      },
    });
    const quiet = recordingClient({ status: "settled", finished: true, results });
    expect(
      await createSupabaseLedgerStore(quiet.client).settleEvent({ ...event([]), nowMs: NOW_MS }),
    ).toMatchObject({ ok: true, value: { incidents: [] } });
  });
});

describe("the settlement functions through the adapter", () => {
  it("await_payment: the order, the payment in flight and its deadline", async () => {
    const { client, calls } = recordingClient({ outcome: "awaiting_payment", order: ORDER_ROW });
    const result = await createSupabaseLedgerStore(client).awaitPayment({
      orderId: "ord_1",
      paymentRef: "pi_1",
      untilMs: NOW_MS + 1_000,
      nowMs: NOW_MS,
    });
    expect(calls).toEqual([
      {
        fn: "await_payment",
        args: {
          p_order_id: "ord_1",
          p_payment_ref: "pi_1",
          p_until: new Date(NOW_MS + 1_000).toISOString(),
          p_now: NOW,
        },
      },
    ]);
    expect(result).toMatchObject({ ok: true, value: { outcome: "awaiting_payment", incidents: [] } });
  });

  it("apply_dispute: every argument of its signature, and its incidents", async () => {
    const { client, calls } = recordingClient({
      outcome: "disputed",
      order: ORDER_ROW,
      incidents: OUTBOX_ROWS.slice(0, 1),
    });
    const result = await createSupabaseLedgerStore(client).applyDispute({
      provider: "stripe",
      orderId: null,
      disputeRef: "dp_1",
      paymentRef: "pi_1",
      amountMinor: 1999,
      currency: "USD",
      state: "open",
      policy: "claw_back",
      source: "webhook",
      nowMs: NOW_MS,
    });
    expect(calls).toEqual([
      {
        fn: "apply_dispute",
        args: {
          p_provider: "stripe",
          p_order_id: null,
          p_dispute_ref: "dp_1",
          p_payment_ref: "pi_1",
          p_amount_minor: 1999,
          p_currency: "USD",
          p_state: "open",
          p_policy: "claw_back",
          p_source: "webhook",
          p_now: NOW,
        },
      },
    ]);
    expect(result).toMatchObject({
      ok: true,
      value: { outcome: "disputed", incidents: [OUTBOX_INCIDENTS[0]] },
    });
  });

  it("apply_payment passes a refund reported at the provider; fail_refund the payment it was for", async () => {
    const { client, calls } = recordingClient({ outcome: "fulfilled", order: ORDER_ROW });
    const store = createSupabaseLedgerStore(client);
    await store.applyPayment({
      provider: "wechatpay",
      orderId: "ord_1",
      paymentRef: "tx_1",
      amountMinor: 990,
      currency: "CNY",
      paidAtMs: NOW_MS,
      source: "reconcile",
      refundedAtProvider: true,
      nowMs: NOW_MS,
    });
    await store.failRefund({
      provider: "stripe",
      refundRef: "re_1",
      paymentRef: "pi_1",
      source: "webhook",
      nowMs: NOW_MS,
    });
    expect(calls[0]?.args).toMatchObject({ p_refunded_at_provider: true });
    expect(calls[1]).toEqual({
      fn: "fail_refund",
      args: {
        p_provider: "stripe",
        p_refund_ref: "re_1",
        p_source: "webhook",
        p_now: NOW,
        p_payment_ref: "pi_1",
      },
    });
  });
});

describe("the incident outbox through the adapter", () => {
  it("claims with limit, lease, now and minimum age, and maps the rows", async () => {
    const { client, calls } = recordingClient(OUTBOX_ROWS);
    const claimed = await createSupabaseLedgerStore(client).claimIncidentOutbox({
      limit: 50,
      leaseSeconds: 120,
      minAgeSeconds: 60,
      nowMs: NOW_MS,
    });
    expect(calls).toEqual([
      {
        fn: "claim_incident_outbox",
        args: { p_limit: 50, p_lease_seconds: 120, p_now: NOW, p_min_age_seconds: 60 },
      },
    ]);
    expect(claimed).toEqual({ ok: true, value: OUTBOX_INCIDENTS });
  });

  it("finishes by ids and answers how many were still there", async () => {
    const { client, calls } = recordingClient(2);
    expect(await createSupabaseLedgerStore(client).finishIncidentOutbox([41, 42])).toEqual({
      ok: true,
      value: 2,
    });
    expect(calls).toEqual([{ fn: "finish_incident_outbox", args: { p_ids: [41, 42] } }]);
  });
});
