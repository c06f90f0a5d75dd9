import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL, paidOrder } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const LATER = "2026-11-22T13:00:00.000Z";

describe.each(ledgerBackends("admin console SQL"))("admin console read models on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  it("records who did what and why, on the audit table and the order timeline", async () => {
    const { orderId } = await paidOrder(ledger, randomUUID(), T0);
    const id = await ledger.call<number>("record_admin_action", {
      p_actor: "alice",
      p_action: "sync",
      p_order_id: orderId,
      p_target: null,
      p_reason: "customer wrote in",
      p_outcome: "duplicate",
      p_detail: { status: "fulfilled" },
      p_now: LATER,
    });
    expect(Number(id)).toBeGreaterThan(0);
    const detail = await ledger.call<{
      timeline: Array<{ kind: string; source: string; detail: Record<string, unknown> }>;
      actions: Array<{ actor: string; reason: string }>;
      ledger: unknown[];
      balance: { stored: number; ledger_sum: number };
    }>("admin_order_detail", { p_order_id: orderId });
    expect(detail.timeline.at(-1)).toMatchObject({
      kind: "admin_sync",
      source: "admin",
      detail: { actor: "alice", reason: "customer wrote in", outcome: "duplicate" },
    });
    expect(detail.actions).toMatchObject([{ actor: "alice", reason: "customer wrote in" }]);
    expect(detail.ledger).toHaveLength(1);
    expect(detail.balance).toEqual({ stored: 100, ledger_sum: 100 });
  });

  it("searches by id, provider reference, user and status, paginated", async () => {
    const user = randomUUID();
    const a = await paidOrder(ledger, user, T0);
    const b = await paidOrder(ledger, user, LATER);
    const search = (args: Record<string, unknown>) =>
      ledger.call<{ total: number; orders: Array<{ id: string }> }>("admin_search_orders", {
        p_query: null,
        p_user_id: null,
        p_status: null,
        p_provider: null,
        p_from: null,
        p_to: null,
        p_limit: 1,
        p_offset: 0,
        ...args,
      });
    expect(await search({ p_user_id: user })).toEqual({
      total: 2,
      orders: [expect.objectContaining({ id: b.orderId })],
    });
    expect((await search({ p_user_id: user, p_offset: 1 })).orders[0]?.id).toBe(a.orderId);
    expect((await search({ p_query: `pi_${a.orderId}` })).orders[0]?.id).toBe(a.orderId);
    expect((await search({ p_query: a.orderId, p_status: "refunded" })).total).toBe(0);
  });

  it("summarises a window: statuses, latency by path, webhooks, series", async () => {
    await paidOrder(ledger, randomUUID(), T0);
    const overview = await ledger.call<{
      orders_by_status: Record<string, number>;
      latency_ms_by_path: Record<string, { count: number; p50: number }>;
      series: Array<{ payments: number }>;
    }>("admin_overview", {
      p_since: "2026-11-22T11:00:00Z",
      p_now: "2026-11-22T14:00:00Z",
      p_bucket_seconds: 3600,
    });
    expect(overview.orders_by_status.fulfilled).toBeGreaterThanOrEqual(1);
    expect(overview.latency_ms_by_path.webhook).toMatchObject({ p50: 0 });
    expect(overview.series).toHaveLength(4);
    expect(overview.series.reduce((sum, bucket) => sum + bucket.payments, 0)).toBe(
      overview.latency_ms_by_path.webhook?.count,
    );
  });

  it("keeps admin_actions behind RLS and its functions from anon", async () => {
    await expect(ledger.asRole("anon", "select * from payguard.admin_actions")).rejects.toThrow();
    await expect(
      ledger.call("admin_order_detail", { p_order_id: "ord_x_000000" }, "authenticated"),
    ).rejects.toThrow();
  });
});
