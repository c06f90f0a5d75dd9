/**
 * The checkout's branching with the database and the provider replaced by recorders: which step runs
 * for a fresh order, a finished replay, an unfinished replay, and a provider failure on each.
 */
import { describe, expect, it } from "vitest";
import { type CreateSession, runCheckout } from "../../../src/checkout/checkout.ts";
import type { BeginResult, CheckoutStore } from "../../../src/checkout/store.ts";
import { err, ok } from "../../../src/ledger/result.ts";
import { pendingOrder, TEST_NOW_MS } from "../../support/node/orders.ts";

const NOW_MS = TEST_NOW_MS;
const order = pendingOrder({ id: "ord_unit_1" });
const input = {
  userId: order.userId,
  request: { packageId: "credits_100", provider: "stripe" as const },
  idempotencyKey: "key-1",
  requestHash: "a".repeat(64),
  expiresInS: 3600,
  limits: { pendingPerUserMax: 10, pendingPerUserPackageMax: 3, stockPerUserMax: 2 },
  nowMs: NOW_MS,
};

function recorder(begin: BeginResult) {
  const calls: string[] = [];
  const store: CheckoutStore = {
    listPackages: async () => ok([]),
    begin: async (call) => {
      calls.push(call.limits === input.limits ? "begin" : "begin without the limits");
      return ok(begin);
    },
    complete: async (call) => {
      calls.push(`complete:${call.providerRef}`);
      return ok(undefined);
    },
    abort: async (call) => {
      calls.push(`abort:${call.orderId}`);
      return ok(undefined);
    },
  };
  return { calls, store };
}

const session =
  (calls: string[], failWith?: "transient" | "permanent"): CreateSession =>
  async (o) => {
    calls.push(`provider:${o.id}`);
    if (failWith) return err({ kind: failWith, code: "x", message: "provider said no" });
    return ok({ providerRef: "cs_test_1", answer: { orderId: o.id, url: "https://pay.example/1" } });
  };

describe("runCheckout", () => {
  it("fresh order: provider, then complete", async () => {
    const { calls, store } = recorder({ outcome: "created", order, packageName: "100 credits" });
    const result = await runCheckout(store, session(calls), input);
    expect(result).toEqual(
      ok({ answer: { orderId: order.id, url: "https://pay.example/1" }, replayed: false }),
    );
    expect(calls).toEqual(["begin", `provider:${order.id}`, "complete:cs_test_1"]);
  });

  it("fresh order, provider fails: the order is aborted, retryable only for transient failures", async () => {
    const transient = recorder({ outcome: "created", order, packageName: "x" });
    expect(await runCheckout(transient.store, session(transient.calls, "transient"), input)).toMatchObject({
      ok: false,
      error: { kind: "provider_failed", retryable: true },
    });
    expect(transient.calls).toEqual(["begin", `provider:${order.id}`, `abort:${order.id}`]);
    const permanent = recorder({ outcome: "created", order, packageName: "x" });
    expect(await runCheckout(permanent.store, session(permanent.calls, "permanent"), input)).toMatchObject({
      error: { retryable: false },
    });
  });

  it("finished replay: the stored answer, no provider call", async () => {
    const stored = { orderId: order.id, url: "https://pay.example/stored" };
    const { calls, store } = recorder({ outcome: "replayed", order, packageName: "x", response: stored });
    expect(await runCheckout(store, session(calls), input)).toEqual(ok({ answer: stored, replayed: true }));
    expect(calls).toEqual(["begin"]);
  });

  it("unfinished replay: asks the provider again and completes; a failure never aborts the shared order", async () => {
    const resumed = recorder({ outcome: "replayed", order, packageName: "x", response: null });
    expect(await runCheckout(resumed.store, session(resumed.calls), input)).toMatchObject({ ok: true });
    expect(resumed.calls).toEqual(["begin", `provider:${order.id}`, "complete:cs_test_1"]);
    const failing = recorder({ outcome: "replayed", order, packageName: "x", response: null });
    expect(await runCheckout(failing.store, session(failing.calls, "transient"), input)).toMatchObject({
      ok: false,
    });
    expect(failing.calls).toEqual(["begin", `provider:${order.id}`]);
  });

  it("a user at a limit: the limit named, no provider call", async () => {
    for (const limit of ["package_pending_limit", "pending_limit", "stock_per_user_limit"] as const) {
      const { calls, store } = recorder({ outcome: limit });
      expect(await runCheckout(store, session(calls), input)).toEqual(err({ kind: "limit_reached", limit }));
      expect(calls).toEqual(["begin"]);
    }
  });

  it("unfinished replay of an order that is no longer pending: order_closed, no provider call", async () => {
    const { calls, store } = recorder({
      outcome: "replayed",
      order: { ...order, status: "expired" },
      packageName: "x",
      response: null,
    });
    expect(await runCheckout(store, session(calls), input)).toEqual(
      err({ kind: "order_closed", orderId: order.id }),
    );
    expect(calls).toEqual(["begin"]);
  });
});
