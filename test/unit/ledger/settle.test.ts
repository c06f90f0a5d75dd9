import { describe, expect, it } from "vitest";
import type {
  AlertSink,
  IncidentInput,
  LedgerStore,
  OutboxIncident,
  Settlement,
} from "../../../src/ledger/ports.ts";
import { ok } from "../../../src/ledger/result.ts";
import { settleEvent, settleFact } from "../../../src/ledger/settle.ts";
import type { Order, PaymentFact, ProviderEvent, SettleOutcome } from "../../../src/ledger/types.ts";

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

/** An outbox row as the settlement functions hand it back. */
const raised = (id: number, kind: string, severity: IncidentInput["severity"], key = `${kind}:ord_1`) =>
  ({
    id,
    action: "raise",
    incident: { key, kind, severity, summary: `${kind} summary`, detail: { order_id: "ord_1" } },
    createdAtMs: NOW_MS,
  }) satisfies OutboxIncident;
const resolved = (id: number, key: string) =>
  ({ id, action: "resolve", key, createdAtMs: NOW_MS }) satisfies OutboxIncident;

const settled = <O extends SettleOutcome>(
  outcome: O,
  status: Order["status"] | null,
  incidents: OutboxIncident[] = [],
): Settlement<O> => ({ outcome, order: status ? order(status) : null, incidents });

type RecordingSink = AlertSink & { raised: IncidentInput[]; steps: string[] };

function recordingSink(steps: string[] = []): RecordingSink {
  const raisedIncidents: IncidentInput[] = [];
  return {
    raised: raisedIncidents,
    steps,
    raise: async (incident) => {
      raisedIncidents.push(incident);
      steps.push(`raise ${incident.key}`);
      return ok(undefined);
    },
    resolve: async (key) => {
      steps.push(`resolve ${key}`);
      return ok(undefined);
    },
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

/** finishIncidentOutbox that records which ids it was asked to finish into `steps`. */
const finishInto = (steps: string[]): Pick<LedgerStore, "finishIncidentOutbox"> => ({
  finishIncidentOutbox: async (ids) => {
    steps.push(`finish ${ids.join(",")}`);
    return ok(ids.length);
  },
});

describe("settleFact", () => {
  it("applies a paid fact with its source and time and raises nothing when it fulfils", async () => {
    const calls: unknown[] = [];
    const store = storeWith({
      applyPayment: async (input) => {
        calls.push(input);
        return ok(settled("fulfilled", "fulfilled"));
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

  it("delivers the critical needs_review incident the database wrote for a mismatch, then finishes it", async () => {
    const steps: string[] = [];
    const store = storeWith({
      applyPayment: async () =>
        ok(settled("mismatch", "needs_review", [raised(7, "needs_review", "critical")])),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    await settleFact(paid, "reconcile", NOW_MS, { store, alerts });
    expect(alerts.raised).toEqual([
      expect.objectContaining({ key: "needs_review:ord_1", kind: "needs_review", severity: "critical" }),
    ]);
    expect(steps).toEqual(["raise needs_review:ord_1", "finish 7"]);
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

  it("sends an async payment in flight to await_payment with its deadline", async () => {
    const calls: unknown[] = [];
    const store = storeWith({
      awaitPayment: async (input) => {
        calls.push(input);
        return ok(settled("awaiting_payment", "pending"));
      },
    });
    const awaiting: PaymentFact = {
      kind: "awaiting_payment",
      provider: "stripe",
      orderId: "ord_1",
      paymentRef: "pi_1",
      untilMs: NOW_MS + 3_600_000,
    };
    const result = await settleFact(awaiting, "reconcile", NOW_MS, { store, alerts: recordingSink() });
    expect(result).toMatchObject({ ok: true, value: { outcome: "awaiting_payment", status: "pending" } });
    expect(calls).toEqual([
      expect.objectContaining({ orderId: "ord_1", paymentRef: "pi_1", untilMs: NOW_MS + 3_600_000 }),
    ]);
  });

  it("sends a dispute to apply_dispute with its state and policy, and delivers its critical incident", async () => {
    const calls: unknown[] = [];
    const steps: string[] = [];
    const store = storeWith({
      applyDispute: async (input) => {
        calls.push(input);
        return ok(settled("disputed", "fulfilled", [raised(3, "dispute", "critical")]));
      },
      ...finishInto(steps),
    });
    const dispute: PaymentFact = {
      kind: "disputed",
      provider: "stripe",
      orderId: null,
      paymentRef: "pi_1",
      disputeRef: "dp_1",
      amountMinor: 1999,
      currency: "USD",
      state: "open",
      policy: "claw_back",
    };
    const alerts = recordingSink(steps);
    const result = await settleFact(dispute, "webhook", NOW_MS, { store, alerts });
    expect(result).toMatchObject({ ok: true, value: { orderId: "ord_1", outcome: "disputed" } });
    expect(calls).toEqual([
      expect.objectContaining({ disputeRef: "dp_1", paymentRef: "pi_1", state: "open", policy: "claw_back" }),
    ]);
    expect(steps).toEqual(["raise dispute:ord_1", "finish 3"]);
  });

  it("passes the payment a failed refund was for, so the database finds its order", async () => {
    const calls: unknown[] = [];
    const store = storeWith({
      failRefund: async (input) => {
        calls.push(input);
        return ok(settled("refund_failed", "fulfilled"));
      },
    });
    const failed: PaymentFact = {
      kind: "refund_failed",
      provider: "stripe",
      orderId: null,
      paymentRef: "pi_1",
      refundRef: "re_1",
    };
    await settleFact(failed, "webhook", NOW_MS, { store, alerts: recordingSink() });
    expect(calls).toEqual([
      { provider: "stripe", refundRef: "re_1", paymentRef: "pi_1", source: "webhook", nowMs: NOW_MS },
    ]);
  });
});

describe("settleFact and incidents", () => {
  it("answers a fact whose incident delivery failed as settled: the incident stays in the outbox for the drain", async () => {
    const steps: string[] = [];
    const store = storeWith({
      applyPayment: async () =>
        ok(settled("mismatch", "needs_review", [raised(9, "needs_review", "critical")])),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    alerts.raise = async () => ({
      ok: false,
      error: { kind: "transient", code: "alert_desk_unavailable", message: "desk down" },
    });
    expect(await settleFact(paid, "webhook", NOW_MS, { store, alerts })).toEqual({
      ok: true,
      value: { orderId: "ord_1", outcome: "mismatch", status: "needs_review" },
    });
    // Not finished: claim_incident_outbox hands it to the cron drain.
    expect(steps).toEqual([]);
  });

  it("WeChat REFUND on query: tells the database, and delivers refund_awaited, then its resolution when the refund applies", async () => {
    const steps: string[] = [];
    const alerts = recordingSink(steps);
    const reported: PaymentFact = { ...paid, provider: "wechatpay", refundedAtProvider: true };
    const payments: unknown[] = [];
    const payStore = storeWith({
      applyPayment: async (input) => {
        payments.push(input);
        return ok(settled("fulfilled", "fulfilled", [raised(1, "refund_awaited", "warning")]));
      },
      ...finishInto(steps),
    });
    await settleFact(reported, "reconcile", NOW_MS, { store: payStore, alerts });
    expect(payments).toEqual([expect.objectContaining({ refundedAtProvider: true })]);
    expect(alerts.raised).toEqual([
      expect.objectContaining({ key: "refund_awaited:ord_1", kind: "refund_awaited" }),
    ]);
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
      applyRefund: async () => ok(settled("refunded", "refunded", [resolved(2, "refund_awaited:ord_1")])),
      ...finishInto(steps),
    });
    await settleFact(refund, "webhook", NOW_MS, { store: refundStore, alerts });
    expect(steps).toEqual([
      "raise refund_awaited:ord_1",
      "finish 1",
      "resolve refund_awaited:ord_1",
      "finish 2",
    ]);
  });

  it("delivers a held payment's incident under the audit's key (the audit resolves it); a held refund has none", async () => {
    const steps: string[] = [];
    const key = `audit:held_payment:${paid.provider}:${paid.paymentRef}`;
    const store = storeWith({
      applyPayment: async () => ok(settled("held", null, [raised(4, "audit_held_payment", "critical", key)])),
      applyRefund: async () => ok(settled("held", null)),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    await settleFact(paid, "webhook", NOW_MS, { store, alerts });
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
    expect(await settleFact(refund, "webhook", NOW_MS, { store, alerts })).toEqual({
      ok: true,
      value: { orderId: null, outcome: "held", status: null },
    });
    expect(alerts.raised).toEqual([expect.objectContaining({ key, severity: "critical" })]);
    expect(steps).toEqual([`raise ${key}`, "finish 4"]);
  });

  it("raises app_hook_failed from the worker when the hook rolled the settlement (and its outbox) back", async () => {
    const store = storeWith({
      applyPayment: async () => ({
        ok: false,
        error: { kind: "transient", code: "P0H01", message: "app hook payguard_app.on_settled failed" },
      }),
    });
    const alerts = recordingSink();
    expect(await settleFact(paid, "webhook", NOW_MS, { store, alerts })).toMatchObject({
      ok: false,
      error: { code: "P0H01" },
    });
    expect(alerts.raised).toEqual([
      expect.objectContaining({
        key: "app_hook_failed:ord_1",
        kind: "app_hook_failed",
        severity: "critical",
      }),
    ]);
  });
});

const stripeEvent = (facts: ProviderEvent["facts"]): ProviderEvent => ({
  provider: "stripe",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  locator: { by: "session", ref: "cs_1", claimedOrderId: "ord_1" },
  facts,
  source: "webhook",
});

const { orderId: _, ...draft } = paid;
const paidEvent = stripeEvent([{ ...draft, orderId: null }]);

describe("settleEvent", () => {
  it("settles an event with no incident in one store call, and sends no quiet lists any more", async () => {
    const sent: object[] = [];
    const store = storeWith({
      settleEvent: async (input) => {
        sent.push(input);
        return ok({
          status: "settled",
          results: [{ outcome: "fulfilled", order: order("fulfilled"), orderId: "ord_1" }],
          incidents: [],
        });
      },
    });
    const result = await settleEvent(paidEvent, NOW_MS, { store, alerts: recordingSink() });
    expect(result).toEqual({
      ok: true,
      value: { status: "done", results: [{ orderId: "ord_1", outcome: "fulfilled", status: "fulfilled" }] },
    });
    expect(sent).toEqual([{ ...paidEvent, nowMs: NOW_MS }]);
  });

  it("delivers the incidents the event wrote in order (raise, resolve), then finishes them in one call", async () => {
    const steps: string[] = [];
    const store = storeWith({
      settleEvent: async () =>
        ok({
          status: "settled",
          results: [{ outcome: "late_payment", order: order("fulfilled"), orderId: "ord_1" }],
          incidents: [raised(11, "late_payment", "warning"), resolved(12, "app_hook_failed:ord_1")],
        }),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    const result = await settleEvent(paidEvent, NOW_MS, { store, alerts });
    expect(result).toEqual({
      ok: true,
      value: {
        status: "done",
        results: [{ orderId: "ord_1", outcome: "late_payment", status: "fulfilled" }],
      },
    });
    expect(alerts.raised).toEqual([
      expect.objectContaining({ key: "late_payment:ord_1", kind: "late_payment", severity: "warning" }),
    ]);
    expect(steps).toEqual(["raise late_payment:ord_1", "resolve app_hook_failed:ord_1", "finish 11,12"]);
  });

  it("answers the event done when its incidents cannot be delivered: they stay in the outbox for the drain", async () => {
    const steps: string[] = [];
    const store = storeWith({
      settleEvent: async () =>
        ok({
          status: "settled",
          results: [{ outcome: "mismatch", order: order("needs_review"), orderId: "ord_1" }],
          incidents: [raised(5, "needs_review", "critical")],
        }),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    alerts.raise = async () => ({ ok: false, error: { kind: "transient", code: "x", message: "desk down" } });
    expect(await settleEvent(paidEvent, NOW_MS, { store, alerts })).toMatchObject({
      ok: true,
      value: { status: "done", results: [{ outcome: "mismatch", status: "needs_review" }] },
    });
    expect(steps).toEqual([]);
  });

  it("answers a duplicate or unlocated event as the database did, with nothing to deliver", async () => {
    for (const status of ["duplicate", "unlocated"] as const) {
      const row = status === "duplicate" ? { status, incidents: [] } : { status };
      const store = storeWith({ settleEvent: async () => ok(row) });
      const alerts = recordingSink();
      expect(await settleEvent(paidEvent, NOW_MS, { store, alerts })).toEqual({
        ok: true,
        value: { status },
      });
      expect(alerts.steps).toEqual([]);
    }
  });

  it("delivers what a duplicate hands over (its first delivery's answer was lost), then answers duplicate", async () => {
    const steps: string[] = [];
    const store = storeWith({
      settleEvent: async () => ok({ status: "duplicate", incidents: [raised(7, "late_payment", "warning")] }),
      ...finishInto(steps),
    });
    const alerts = recordingSink(steps);
    expect(await settleEvent(paidEvent, NOW_MS, { store, alerts })).toEqual({
      ok: true,
      value: { status: "duplicate" },
    });
    expect(steps).toEqual(["raise late_payment:ord_1", "finish 7"]);
  });

  it("raises app_hook_failed for the event's order when the hook rolled the event back", async () => {
    const failure = { kind: "transient", code: "P0H01", message: "app hook failed" } as const;
    const store = storeWith({
      settleEvent: async () => ({ ok: false, error: failure }),
      recordEvent: async () => ok("new"),
      finishEvent: async () => ok(undefined),
    });
    const alerts = recordingSink();
    expect(await settleEvent(paidEvent, NOW_MS, { store, alerts })).toEqual({ ok: false, error: failure });
    expect(alerts.raised).toEqual([expect.objectContaining({ key: "app_hook_failed:ord_1" })]);
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
    expect(await settleEvent(paidEvent, NOW_MS, ports)).toEqual({ ok: false, error: failure });
    expect(finished).toEqual(["failed: bad fact"]);
    recordable = false;
    expect(await settleEvent(paidEvent, NOW_MS, ports)).toMatchObject({
      ok: false,
      error: { kind: "transient" },
    });
  });
});
