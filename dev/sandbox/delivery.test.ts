// The delivery queue on its own, with a recording fetch: each fault does what it says, failures are
// retried like a provider retries, and one seed always gives the same sequence.
import { describe, expect, it, vi } from "vitest";
import { createDeliveryQueue, DELIVERY_TIMEOUT_MS } from "./delivery.ts";
import type { DeliveryFaults } from "./delivery-faults.ts";
import { noDeliveryFaults } from "./delivery-faults.ts";
import type { QueuedDelivery } from "./http.ts";
import { mulberry32 } from "./rng.ts";

interface Sent {
  eventId: string;
  headers: Record<string, string>;
}

function harness(options: { status?: (sent: Sent, index: number) => number; seed?: number } = {}) {
  let nowMs = Date.UTC(2026, 10, 1);
  const sent: Sent[] = [];
  let active = 0;
  let maxActive = 0;
  const fakeFetch = (async (_url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body)) as { id: string };
    const entry = { eventId: body.id, headers: init.headers as Record<string, string> };
    sent.push(entry);
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise((resolve) => setImmediate(resolve));
    active -= 1;
    return new Response(null, { status: options.status?.(entry, sent.length - 1) ?? 200 });
  }) as typeof fetch;
  const queue = createDeliveryQueue({
    clock: () => nowMs,
    random: mulberry32(options.seed ?? 1),
    fetch: fakeFetch,
  });
  return {
    queue,
    sent,
    maxActive: () => maxActive,
    advance: (ms: number) => {
      nowMs += ms;
    },
    now: () => nowMs,
    faults: (partial: Partial<DeliveryFaults>) =>
      queue.setFaults({ ...noDeliveryFaults(), retryBaseMs: 1, ...partial }),
  };
}

const delivery = (eventId: string, type = "checkout.session.completed"): QueuedDelivery => ({
  provider: "stripe",
  eventId,
  url: "http://127.0.0.1:1/hook",
  headers: { "stripe-signature": "t=1,v1=00" },
  body: JSON.stringify({ id: eventId, type }),
});

describe("delivery faults", () => {
  it("drops a delivery: it is logged as dropped and never sent", async () => {
    const h = harness();
    h.faults({ rules: [{ action: "drop", count: 1 }] });
    h.queue.enqueue(delivery("evt_a"));
    h.queue.enqueue(delivery("evt_b"));
    await h.queue.idle();
    expect(h.sent.map((s) => s.eventId)).toEqual(["evt_b"]);
    expect(h.queue.log().map((a) => [a.eventId, a.fault, a.status])).toEqual([
      ["evt_a", "drop", "dropped"],
      ["evt_b", null, 200],
    ]);
  });

  it("duplicates a delivery n times, all copies in flight at once", async () => {
    const h = harness();
    h.faults({ rules: [{ action: "duplicate", copies: 3, match: { eventType: "refund.created" } }] });
    h.queue.enqueue(delivery("evt_dup", "refund.created"));
    h.queue.enqueue(delivery("evt_other"));
    await h.queue.idle();
    expect(h.sent.filter((s) => s.eventId === "evt_dup")).toHaveLength(4);
    expect(h.sent.filter((s) => s.eventId === "evt_other")).toHaveLength(1);
    expect(h.maxActive()).toBeGreaterThanOrEqual(4);
  });

  it("reorders a window of deliveries", async () => {
    const h = harness();
    h.faults({ rules: [{ action: "reorder", window: 4, count: 4 }] });
    for (const id of ["evt_1", "evt_2", "evt_3", "evt_4"]) h.queue.enqueue(delivery(id));
    await h.queue.idle();
    const order = h.sent.map((s) => s.eventId);
    expect([...order].sort()).toEqual(["evt_1", "evt_2", "evt_3", "evt_4"]);
    expect(order).not.toEqual(["evt_1", "evt_2", "evt_3", "evt_4"]);
  });

  it("delays a delivery behind later ones", async () => {
    const h = harness();
    h.faults({ rules: [{ action: "delay", delayMs: 30, match: { eventId: "evt_slow" } }] });
    h.queue.enqueue(delivery("evt_slow"));
    h.queue.enqueue(delivery("evt_fast"));
    await h.queue.idle();
    expect(h.sent.map((s) => s.eventId)).toEqual(["evt_fast", "evt_slow"]);
  });

  it("holds a delivery until the clock reaches a time, then signs it afresh", async () => {
    const h = harness();
    const untilMs = h.now() + 60 * 60 * 1000;
    h.faults({ rules: [{ action: "hold", untilMs }] });
    h.queue.enqueue({ ...delivery("evt_late"), resign: (atMs) => ({ "stripe-signature": `t=${atMs}` }) });
    expect(h.queue.release()).toBe(0);
    await h.queue.idle();
    expect(h.sent).toEqual([]);
    h.advance(60 * 60 * 1000);
    expect(h.queue.release()).toBe(1);
    await h.queue.idle();
    expect(h.sent).toEqual([{ eventId: "evt_late", headers: { "stripe-signature": `t=${untilMs}` } }]);
  });

  it("retries a failed delivery with backoff until it succeeds", async () => {
    const h = harness({ status: (_sent, index) => (index < 2 ? 500 : 200) });
    h.faults({});
    h.queue.enqueue(delivery("evt_retry"));
    await h.queue.idle();
    expect(h.queue.log().map((a) => [a.attempt, a.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
  });

  it("stops retrying after the maximum number of attempts", async () => {
    const h = harness({ status: () => 503 });
    h.faults({ attemptsMax: 3 });
    h.queue.enqueue(delivery("evt_never"));
    await h.queue.idle();
    expect(h.sent).toHaveLength(3);
    expect(h.queue.log().at(-1)).toMatchObject({ attempt: 3, status: 503 });
  });
});

describe("delivery deadline", () => {
  it("ends an attempt at the deadline even when the fetch never settles on its abort", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const hanging = (() => new Promise<Response>(() => undefined)) as typeof fetch;
      const queue = createDeliveryQueue({ clock: () => 0, random: mulberry32(1), fetch: hanging });
      queue.setFaults({ ...noDeliveryFaults(), attemptsMax: 1 });
      queue.enqueue(delivery("evt_hang"));
      await vi.advanceTimersByTimeAsync(DELIVERY_TIMEOUT_MS);
      await queue.idle();
      expect(queue.log().map((a) => a.status)).toEqual(["timeout"]);
      expect(queue.pending().inFlight).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("seeded rates", () => {
  async function run(seed: number) {
    // Like payguard, the receiver answers by content: a few events fail until retried.
    let failed = new Set<string>();
    const status = ({ eventId }: Sent) => {
      if (!eventId.endsWith("7") || failed.has(eventId)) return 200;
      failed = new Set([...failed, eventId]);
      return 500;
    };
    const h = harness({ seed, status });
    h.faults({
      retryBaseMs: 20,
      rates: { drop: 0.15, duplicate: 0.15, reorder: 0.15, delay: 0.15, delayMaxMs: 10 },
    });
    for (let i = 0; i < 40; i += 1) h.queue.enqueue(delivery(`evt_${i}`));
    h.queue.release(true);
    await h.queue.idle();
    return h.queue.log().map((a) => `${a.eventId}#${a.attempt}:${a.fault ?? "-"}:${a.status}`);
  }

  it("gives the same delivery sequence for the same seed, and another for another seed", async () => {
    const first = await run(42);
    const second = await run(42);
    expect(second).toEqual(first);
    const faults = new Set(first.map((entry) => entry.split(":")[1]));
    expect(faults).toEqual(new Set(["-", "drop", "duplicate", "reorder", "delay"]));
    expect(first.filter((entry) => entry.includes("#2:"))).not.toEqual([]);
    expect(await run(43)).not.toEqual(first);
  });
});
