import { describe, expect, it } from "vitest";
import {
  deliverIncidents,
  drainIncidentOutbox,
  OUTBOX_DRAIN_BATCHES_MAX,
  OUTBOX_DRAIN_ROWS_MAX,
  OUTBOX_LEASE_SECONDS,
  OUTBOX_MIN_AGE_SECONDS,
} from "../../../src/ledger/incident-outbox.ts";
import type { AlertSink, LedgerStore, OutboxIncident } from "../../../src/ledger/ports.ts";
import { type InfraError, ok, type Result } from "../../../src/ledger/result.ts";

const NOW_MS = Date.UTC(2026, 11, 4, 12, 0, 0);

const raise = (id: number, key: string): OutboxIncident => ({
  id,
  action: "raise",
  incident: { key, kind: key.split(":")[0] ?? key, severity: "warning", summary: key, detail: {} },
  createdAtMs: NOW_MS - 120_000,
});
const resolve = (id: number, key: string): OutboxIncident => ({
  id,
  action: "resolve",
  key,
  createdAtMs: NOW_MS - 120_000,
});

const failure = (kind: InfraError["kind"]): Result<never, InfraError> => ({
  ok: false,
  error: { kind, code: kind, message: `${kind} failure` },
});

/** A sink that records each call and fails the keys it is told to. */
function sink(failing: Record<string, InfraError["kind"]> = {}) {
  const calls: string[] = [];
  const answer = (key: string): Result<void, InfraError> => {
    const kind = failing[key];
    return kind ? failure(kind) : ok(undefined);
  };
  const alerts: AlertSink = {
    raise: async (incident) => {
      calls.push(`raise ${incident.key}`);
      return answer(incident.key);
    },
    resolve: async (key) => {
      calls.push(`resolve ${key}`);
      return answer(key);
    },
    acknowledge: async () => ok({ found: true }),
    mute: async () => ok({ found: true }),
  };
  return { alerts, calls };
}

/** An outbox in memory that claims like claim_incident_outbox (id order, leased, min age) and finishes. */
function outbox(rows: OutboxIncident[], options: { finishFails?: boolean } = {}) {
  const leasedUntil = new Map<number, number>();
  const claims: Array<Record<string, number>> = [];
  const finished: number[][] = [];
  const store = {
    claimIncidentOutbox: async (input: {
      limit: number;
      leaseSeconds: number;
      minAgeSeconds: number;
      nowMs: number;
    }) => {
      claims.push(input);
      const due = rows
        .filter((row) => row.createdAtMs <= input.nowMs - input.minAgeSeconds * 1000)
        .filter((row) => (leasedUntil.get(row.id) ?? 0) <= input.nowMs)
        .slice(0, input.limit);
      for (const row of due) leasedUntil.set(row.id, input.nowMs + input.leaseSeconds * 1000);
      return ok(due);
    },
    finishIncidentOutbox: async (ids: readonly number[]) => {
      if (options.finishFails) return failure("transient");
      finished.push([...ids]);
      rows.splice(0, rows.length, ...rows.filter((row) => !ids.includes(row.id)));
      return ok(ids.length);
    },
  } as unknown as LedgerStore;
  return { store, rows, claims, finished };
}

describe("delivering a settlement's incidents", () => {
  it("sends raise and resolve in the order written, then finishes them in one call", async () => {
    const { alerts, calls } = sink();
    const box = outbox([
      raise(1, "needs_review:o1"),
      resolve(2, "needs_review:o1"),
      raise(3, "late_payment:o1"),
    ]);
    const delivery = await deliverIncidents([...box.rows], NOW_MS, { store: box.store, alerts });
    expect(calls).toEqual(["raise needs_review:o1", "resolve needs_review:o1", "raise late_payment:o1"]);
    expect(box.finished).toEqual([[1, 2, 3]]);
    expect(delivery).toEqual({ delivered: 3, left: 0, error: null });
  });

  it("costs no call at all when the settlement wrote none", async () => {
    const { alerts, calls } = sink();
    const box = outbox([]);
    expect(await deliverIncidents([], NOW_MS, { store: box.store, alerts })).toEqual({
      delivered: 0,
      left: 0,
      error: null,
    });
    expect(calls).toEqual([]);
    expect(box.finished).toEqual([]);
  });

  it("stops at a failure that may pass, so nothing overtakes it; what was sent before it is finished", async () => {
    const { alerts, calls } = sink({ "late_payment:o1": "transient" });
    const box = outbox([raise(1, "dispute:o1"), raise(2, "late_payment:o1"), resolve(3, "late_payment:o1")]);
    const delivery = await deliverIncidents([...box.rows], NOW_MS, { store: box.store, alerts });
    expect(calls).toEqual(["raise dispute:o1", "raise late_payment:o1"]);
    expect(box.finished).toEqual([[1]]);
    expect(box.rows.map((row) => row.id)).toEqual([2, 3]);
    expect(delivery).toMatchObject({ delivered: 1, left: 2, error: "transient failure" });
  });

  it("skips the rest of a key the sink refuses for good and goes on with the others; the refused row stays", async () => {
    const { alerts, calls } = sink({ "bad:o1": "permanent" });
    const box = outbox([raise(1, "bad:o1"), resolve(2, "bad:o1"), raise(3, "late_payment:o2")]);
    const delivery = await deliverIncidents([...box.rows], NOW_MS, { store: box.store, alerts });
    expect(calls).toEqual(["raise bad:o1", "raise late_payment:o2"]);
    expect(box.finished).toEqual([[3]]);
    expect(delivery).toMatchObject({ delivered: 1, left: 2 });
  });

  it("leaves every row for the drain when the finish fails (a second send is harmless: same key)", async () => {
    const { alerts } = sink();
    const box = outbox([raise(1, "late_payment:o1")], { finishFails: true });
    const delivery = await deliverIncidents([...box.rows], NOW_MS, { store: box.store, alerts });
    expect(delivery).toEqual({ delivered: 1, left: 1, error: "transient failure" });
    expect(box.rows).toHaveLength(1);
  });
});

describe("the cron drain of the outbox", () => {
  it("claims with its lease and minimum age, so the writer's own delivery goes first", async () => {
    const { alerts, calls } = sink();
    const fresh = { ...raise(2, "late_payment:fresh"), createdAtMs: NOW_MS - 1_000 };
    const box = outbox([raise(1, "late_payment:old"), fresh]);
    const drained = await drainIncidentOutbox({ store: box.store, alerts }, NOW_MS);
    expect(box.claims[0]).toEqual({
      limit: OUTBOX_DRAIN_ROWS_MAX,
      leaseSeconds: OUTBOX_LEASE_SECONDS,
      minAgeSeconds: OUTBOX_MIN_AGE_SECONDS,
      nowMs: NOW_MS,
    });
    expect(calls).toEqual(["raise late_payment:old"]);
    expect(drained).toEqual({ claimed: 1, delivered: 1, left: 0, error: null });
    expect(box.rows.map((row) => row.id)).toEqual([2]);
  });

  it("two overlapping drains never send one row twice: the second finds it leased", async () => {
    const first = sink();
    const second = sink();
    const box = outbox([raise(1, "late_payment:o1"), raise(2, "created_from_metadata:o2")]);
    // The first drain's desk is down: it claims both, sends one, and leaves them leased.
    const downAlerts: AlertSink = {
      ...first.alerts,
      raise: async (incident) => {
        first.calls.push(`raise ${incident.key}`);
        return failure("transient");
      },
    };
    await drainIncidentOutbox({ store: box.store, alerts: downAlerts }, NOW_MS);
    expect(await drainIncidentOutbox({ store: box.store, alerts: second.alerts }, NOW_MS + 1_000)).toEqual({
      claimed: 0,
      delivered: 0,
      left: 0,
      error: null,
    });
    expect(second.calls).toEqual([]);
    // Once the lease ends, the next drain delivers both, in order.
    const later = NOW_MS + OUTBOX_LEASE_SECONDS * 1000;
    await drainIncidentOutbox({ store: box.store, alerts: second.alerts }, later);
    expect(second.calls).toEqual(["raise late_payment:o1", "raise created_from_metadata:o2"]);
    expect(box.rows).toEqual([]);
  });

  it("takes a backlog in batches, at most OUTBOX_DRAIN_BATCHES_MAX per run", async () => {
    const { alerts } = sink();
    const count = OUTBOX_DRAIN_ROWS_MAX * (OUTBOX_DRAIN_BATCHES_MAX + 1);
    const box = outbox(Array.from({ length: count }, (_, i) => raise(i + 1, `late_payment:o${i}`)));
    const drained = await drainIncidentOutbox({ store: box.store, alerts }, NOW_MS);
    expect(drained.delivered).toBe(OUTBOX_DRAIN_ROWS_MAX * OUTBOX_DRAIN_BATCHES_MAX);
    expect(box.claims).toHaveLength(OUTBOX_DRAIN_BATCHES_MAX);
    expect(box.rows).toHaveLength(OUTBOX_DRAIN_ROWS_MAX);
  });

  it("reports a claim that fails, delivering nothing", async () => {
    const { alerts, calls } = sink();
    const store = {
      claimIncidentOutbox: async () => failure("misconfigured"),
    } as unknown as LedgerStore;
    expect(await drainIncidentOutbox({ store, alerts }, NOW_MS)).toEqual({
      claimed: 0,
      delivered: 0,
      left: 0,
      error: "misconfigured failure",
    });
    expect(calls).toEqual([]);
  });
});
