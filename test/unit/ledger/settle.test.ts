import { describe, expect, it } from "vitest";
import type { AlertSink, IncidentInput, LedgerStore } from "../../../src/ledger/ports.ts";
import { ok } from "../../../src/ledger/result.ts";
import {
  incidentFor,
  SETTLED_LOUD_STATUSES,
  SETTLED_QUIET_OUTCOMES,
  settleEvent,
  settleFact,
} from "../../../src/ledger/settle.ts";
import type { Order, OrderStatus, PaymentFact, ProviderEvent } from "../../../src/ledger/types.ts";

const NOW_MS = Date.UTC(2026, 10, 22, 12, 0, 0);

const order = (status: Order["status"]): Order => ({
  id: "ord_1",
  userId: "u1",
  packageId: "p1",
  provider: "stripe",
  status,
  amountMinor: 1999,
  currency: "USD",
  credits: 100,
  providerRef: null,
  paymentRef: null,
  discountMinor: 0,
  createdAtMs: NOW_MS,
  expiresAtMs: NOW_MS,
  nextCheckAtMs: null,
  checkAttempts: 0,
});

const paid: PaymentFact = {
  kind: "paid",
  provider: "stripe",
  orderId: "ord_1",
  paymentRef: "pi_1",
  amountMinor: 1999,
  currency: "USD",
  paidAtMs: NOW_MS,
};

function recordingSink(): AlertSink & { raised: IncidentInput[] } {
  const raised: IncidentInput[] = [];
  return {
    raised,
    raise: async (incident) => {
      raised.push(incident);
      return ok(undefined);
    },
    resolve: async () => ok(undefined),
    acknowledge: async () => ok({ found: true }),
    mute: async () => ok({ found: true }),
  };
}

/** A store where only the methods a test touches exist; anything else fails the test loudly. */
function storeWith(methods: Partial<LedgerStore>): LedgerStore {
  return new Proxy(methods as LedgerStore, {
    get: (target, name) => {
      const method = target[name as keyof LedgerStore];
      if (!method) throw new Error(`unexpected store call ${String(name)}`);
      return method;
    },
  });
}

describe("settleFact", () => {
  it("applies a paid fact with its source and time and raises nothing when it fulfils", async () => {
    const calls: unknown[] = [];
    const store = storeWith({
      applyPayment: async (input) => {
        calls.push(input);
        return ok({ outcome: "fulfilled", order: order("fulfilled") });
      },
    });
    const alerts = recordingSink();
    const result = await settleFact(paid, "webhook", NOW_MS, { store, alerts });
    expect(result).toEqual({
      ok: true,
      value: { orderId: "ord_1", outcome: "fulfilled", status: "fulfilled" },
    });
    expect(calls).toEqual([{ ...paid, source: "webhook", nowMs: NOW_MS }]);
    expect(alerts.raised).toEqual([]);
  });

  it("raises one critical needs_review incident per order when the payment does not match", async () => {
    const store = storeWith({
      applyPayment: async () => ok({ outcome: "mismatch", order: order("needs_review") }),
    });
    const alerts = recordingSink();
    await settleFact(paid, "reconcile", NOW_MS, { store, alerts });
    expect(alerts.raised).toEqual([
      expect.objectContaining({ key: "needs_review:ord_1", kind: "needs_review", severity: "critical" }),
    ]);
  });

  it("passes infrastructure failures through untouched so the caller can answer 5xx", async () => {
    const failure = { kind: "transient", code: "NETWORK", message: "down" } as const;
    const store = storeWith({ applyPayment: async () => ({ ok: false, error: failure }) });
    const alerts = recordingSink();
    expect(await settleFact(paid, "webhook", NOW_MS, { store, alerts })).toEqual({
      ok: false,
      error: failure,
    });
    expect(alerts.raised).toEqual([]);
  });

  it("records a pending fact as a check, and says when the order is unknown", async () => {
    const store = storeWith({ recordCheck: async () => ok(null) });
    const pending: PaymentFact = { kind: "pending", provider: "wechatpay", orderId: "ord_x" };
    const result = await settleFact(pending, "reconcile", NOW_MS, { store, alerts: recordingSink() });
    expect(result).toEqual({ ok: true, value: { orderId: "ord_x", outcome: "unknown_order", status: null } });
  });
});

describe("settleFact and incidents", () => {
  it("answers a failed incident write as transient, so the provider retries until a human is told", async () => {
    const store = storeWith({
      applyPayment: async () => ok({ outcome: "mismatch", order: order("needs_review") }),
    });
    const alerts = recordingSink();
    alerts.raise = async () => ({
      ok: false,
      error: { kind: "permanent", code: "42501", message: "denied" },
    });
    expect(await settleFact(paid, "webhook", NOW_MS, { store, alerts })).toMatchObject({
      ok: false,
      error: { kind: "transient" },
    });
  });

  it("WeChat REFUND on query: settles the payment and keeps refund_awaited open until the refund fact arrives", async () => {
    const resolved: string[] = [];
    const alerts = recordingSink();
    alerts.resolve = async (key) => {
      resolved.push(key);
      return ok(undefined);
    };
    const reported: PaymentFact = { ...paid, provider: "wechatpay", refundedAtProvider: true };
    const payStore = storeWith({
      applyPayment: async () => ok({ outcome: "fulfilled", order: order("fulfilled") }),
    });
    await settleFact(reported, "reconcile", NOW_MS, { store: payStore, alerts });
    expect(alerts.raised).toEqual([
      expect.objectContaining({ key: "refund_awaited:ord_1", kind: "refund_awaited" }),
    ]);
    expect(resolved).toEqual([]);
    const refund: PaymentFact = {
      kind: "refunded",
      provider: "wechatpay",
      orderId: "ord_1",
      paymentRef: "pi_1",
      refundRef: "re_1",
      amountMinor: 1999,
      currency: "USD",
      refundedAtMs: NOW_MS,
    };
    const refundStore = storeWith({
      applyRefund: async () => ok({ outcome: "refunded", order: order("refunded") }),
    });
    await settleFact(refund, "webhook", NOW_MS, { store: refundStore, alerts });
    expect(resolved).toEqual(["refund_awaited:ord_1"]);
  });

  it("raises a held payment at once under the audit's key (the audit resolves it), a held refund not at all", () => {
    expect(incidentFor(paid, { outcome: "held", order: null })).toMatchObject({
      key: `audit:held_payment:${paid.provider}:${paid.paymentRef}`,
      severity: "critical",
    });
    const refund: PaymentFact = {
      kind: "refunded",
      provider: "stripe",
      orderId: null,
      paymentRef: "pi_not_seen_yet",
      refundRef: "re_1",
      amountMinor: 100,
      currency: "USD",
      refundedAtMs: NOW_MS,
    };
    expect(incidentFor(refund, { outcome: "held", order: null })).toBeNull();
  });
});

describe("incidentFor", () => {
  it.each([
    ["late_payment", "warning"],
    ["created_from_metadata", "warning"],
    ["exceeds_grant", "critical"],
    ["unknown_order", "critical"],
  ] as const)("raises %s as %s", (outcome, severity) => {
    expect(incidentFor(paid, { outcome, order: null })).toMatchObject({ kind: outcome, severity });
  });

  it("stays quiet for normal outcomes", () => {
    for (const outcome of ["fulfilled", "duplicate", "expired", "failed", "still_pending", "noop"] as const) {
      expect(incidentFor(paid, { outcome, order: null })).toBeNull();
    }
  });
});

const ORDER_STATUSES: OrderStatus[] = [
  "pending",
  "fulfilled",
  "partially_refunded",
  "refunded",
  "expired",
  "failed",
  "needs_review",
];

const FACTS_OF_EVERY_KIND: PaymentFact[] = [
  paid,
  {
    kind: "refunded",
    provider: "stripe",
    orderId: "ord_1",
    paymentRef: "pi_1",
    refundRef: "re_1",
    amountMinor: 1,
    currency: "USD",
    refundedAtMs: NOW_MS,
  },
  { kind: "refund_failed", provider: "stripe", orderId: "ord_1", paymentRef: "pi_1", refundRef: "re_1" },
  { kind: "failed", provider: "stripe", orderId: "ord_1", reason: "declined" },
  { kind: "expired", provider: "stripe", orderId: "ord_1" },
  { kind: "pending", provider: "wechatpay", orderId: "ord_1" },
  { kind: "mismatch", provider: "wechatpay", orderId: "ord_1", reason: "other merchant" },
];

const stripeEvent = (facts: ProviderEvent["facts"]): ProviderEvent => ({
  provider: "stripe",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  locator: { by: "session", ref: "cs_1", claimedOrderId: "ord_1" },
  facts,
  source: "webhook",
});

describe("settleEvent", () => {
  it("finishes quietly in the database only what needs no incident and no resolution", () => {
    for (const fact of FACTS_OF_EVERY_KIND)
      for (const outcome of SETTLED_QUIET_OUTCOMES)
        for (const status of ORDER_STATUSES.filter((s) => !SETTLED_LOUD_STATUSES.includes(s))) {
          expect(
            incidentFor(fact, { outcome, order: order(status) }),
            `${fact.kind} ${outcome} ${status}`,
          ).toBeNull();
          expect(incidentFor(fact, { outcome, order: null })).toBeNull();
        }
  });

  it("sends the quiet lists with the event, and none when a payment reports a refund at the provider", async () => {
    const sent: Array<{ quietOutcomes: readonly string[]; loudStatuses: readonly string[] }> = [];
    const store = storeWith({
      settleEvent: async (input) => {
        sent.push(input);
        return ok({ status: "duplicate" });
      },
    });
    const ports = { store, alerts: recordingSink() };
    const { orderId: _, ...draft } = paid;
    await settleEvent(stripeEvent([{ ...draft, orderId: null }]), NOW_MS, ports);
    await settleEvent(stripeEvent([{ ...draft, orderId: null, refundedAtProvider: true }]), NOW_MS, ports);
    expect(sent.map((s) => s.quietOutcomes)).toEqual([SETTLED_QUIET_OUTCOMES, []]);
    expect(sent[0]?.loudStatuses).toEqual(SETTLED_LOUD_STATUSES);
  });

  it("stores the incident an unfinished event calls for, then finishes it", async () => {
    const steps: string[] = [];
    const store = storeWith({
      settleEvent: async () =>
        ok({
          status: "settled",
          finished: false,
          results: [{ outcome: "late_payment", order: order("fulfilled"), orderId: "ord_1" }],
        }),
      finishEvent: async (input) => {
        steps.push(`finish ${input.status}`);
        return ok(undefined);
      },
    });
    const alerts = recordingSink();
    const raise = alerts.raise;
    alerts.raise = async (incident, nowMs) => {
      steps.push(`raise ${incident.kind}`);
      return raise(incident, nowMs);
    };
    const { orderId: _, ...draft } = paid;
    const result = await settleEvent(stripeEvent([{ ...draft, orderId: null }]), NOW_MS, { store, alerts });
    expect(result).toEqual({
      ok: true,
      value: {
        status: "done",
        results: [{ orderId: "ord_1", outcome: "late_payment", status: "fulfilled" }],
      },
    });
    expect(steps).toEqual(["raise late_payment", "finish processed"]);
  });

  it("leaves the event unfinished when its incident cannot be stored: the provider retries", async () => {
    const store = storeWith({
      settleEvent: async () =>
        ok({
          status: "settled",
          finished: false,
          results: [{ outcome: "mismatch", order: order("needs_review"), orderId: "ord_1" }],
        }),
    });
    const alerts = recordingSink();
    alerts.raise = async () => ({ ok: false, error: { kind: "permanent", code: "x", message: "desk down" } });
    const { orderId: _, ...draft } = paid;
    expect(
      await settleEvent(stripeEvent([{ ...draft, orderId: null }]), NOW_MS, { store, alerts }),
    ).toMatchObject({
      ok: false,
      error: { kind: "transient" },
    });
  });

  it("records a permanently failed event as failed for the audit; transient if that cannot be written", async () => {
    const failure = { kind: "permanent", code: "P0001", message: "bad fact" } as const;
    const finished: string[] = [];
    let recordable = true;
    const store = storeWith({
      settleEvent: async () => ({ ok: false, error: failure }),
      recordEvent: async () =>
        recordable
          ? ok("new")
          : { ok: false, error: { kind: "transient", code: "NETWORK", message: "down" } },
      finishEvent: async (input) => {
        finished.push(`${input.status}: ${input.error}`);
        return ok(undefined);
      },
    });
    const ports = { store, alerts: recordingSink() };
    const { orderId: _, ...draft } = paid;
    const event = stripeEvent([{ ...draft, orderId: null }]);
    expect(await settleEvent(event, NOW_MS, ports)).toEqual({ ok: false, error: failure });
    expect(finished).toEqual(["failed: bad fact"]);
    recordable = false;
    expect(await settleEvent(event, NOW_MS, ports)).toMatchObject({
      ok: false,
      error: { kind: "transient" },
    });
  });
});
