import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";

interface Begin {
  outcome: string;
  order: { id: string } | null;
  response: unknown;
}

describe.each(ledgerBackends("runbook SQL"))("sales switch and replayable inbox on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(`insert into payguard.credit_packages
      (id, name, amount_minor, currency, credits, active) values
      ('basic', '100 credits', 1999, 'USD', 100, true), ('other', '50 credits', 999, 'USD', 50, true)`);
  });
  afterAll(() => ledger.close());

  const begin = (user: string, pkg: string, key: string | null = null) =>
    ledger.call<Begin>("checkout_begin", {
      p_user_id: user,
      p_package_id: pkg,
      p_provider: "stripe",
      p_idempotency_key: key,
      p_request_hash: "a".repeat(64),
      p_now: T0,
      p_expires_in_seconds: 3600,
    });
  const pause = (scope: string, paused: boolean) =>
    ledger.call<{ changed: boolean; paused: Array<{ scope: string; paused_by: string }> }>(
      "set_sales_pause",
      {
        p_scope: scope,
        p_paused: paused,
        p_actor: "alice",
        p_reason: "stock problem at the supplier",
        p_now: T0,
      },
    );

  it("a paused package gets no new order; an earlier idempotent request still replays; resuming restores it", async () => {
    const user = randomUUID();
    const before = await begin(user, "basic", "key-1");
    expect(before.outcome).toBe("created");
    expect(await pause("basic", true)).toMatchObject({
      changed: true,
      paused: [{ scope: "basic", paused_by: "alice" }],
    });
    expect((await pause("basic", true)).changed).toBe(false);
    expect((await begin(user, "basic")).outcome).toBe("sales_paused");
    expect((await begin(user, "basic", "key-1")).outcome).toBe("replayed");
    expect((await begin(user, "other")).outcome).toBe("created");
    expect((await pause("basic", false)).changed).toBe(true);
    expect((await begin(user, "basic")).outcome).toBe("created");
  });

  it("'*' pauses every package; an unknown package is refused", async () => {
    const user = randomUUID();
    await pause("*", true);
    expect((await begin(user, "basic")).outcome).toBe("sales_paused");
    expect((await begin(user, "other")).outcome).toBe("sales_paused");
    expect(await ledger.call("list_sales_pauses", {})).toMatchObject([{ scope: "*" }]);
    await pause("*", false);
    expect((await begin(user, "other")).outcome).toBe("created");
    await expect(pause("nope", true)).rejects.toThrow(/unknown package/);
  });

  it("only service_role reads or flips the switch; the table has RLS and no grants", async () => {
    for (const role of ["anon", "authenticated"] as const) {
      await expect(ledger.call("list_sales_pauses", {}, role)).rejects.toThrow(/permission denied/);
      await expect(ledger.asRole(role, "select * from payguard.sales_pauses")).rejects.toThrow(
        /permission denied/,
      );
    }
    const [table] = await ledger.asRole<{ rls: boolean }>(
      "service_role",
      "select relrowsecurity as rls from pg_class where oid = 'payguard.sales_pauses'::regclass",
    );
    expect(table?.rls).toBe(true);
  });

  it("lists failed and stuck inbox events by provider, type and window, oldest first", async () => {
    const record = async (provider: string, id: string, type: string, at: string, finish?: string) => {
      await ledger.call("record_event", {
        p_provider: provider,
        p_event_id: id,
        p_event_type: type,
        p_order_id: null,
        p_now: at,
      });
      if (finish)
        await ledger.call("finish_event", {
          p_provider: provider,
          p_event_id: id,
          p_status: finish,
          p_error: "x",
          p_now: at,
        });
    };
    await record("stripe", "evt_failed", "checkout.session.completed", "2026-11-22T10:00:00Z", "failed");
    await record("stripe", "evt_stuck", "checkout.session.completed", "2026-11-22T10:05:00Z");
    await record("stripe", "evt_fresh", "checkout.session.completed", "2026-11-22T11:59:00Z");
    await record("stripe", "evt_done", "checkout.session.completed", "2026-11-22T10:01:00Z", "processed");
    await record("wechatpay", "wx_failed", "TRANSACTION.SUCCESS", "2026-11-22T10:02:00Z", "failed");
    const list = (args: Record<string, unknown>) =>
      ledger
        .call<Array<{ event_id: string }>>("admin_replayable_events", {
          p_provider: null,
          p_status: null,
          p_event_type: null,
          p_from: null,
          p_to: null,
          p_stuck_before: "2026-11-22T11:50:00Z",
          p_limit: 100,
          ...args,
        })
        .then((rows) => rows.map((row) => row.event_id));
    expect(await list({})).toEqual(["evt_failed", "wx_failed", "evt_stuck"]);
    expect(await list({ p_provider: "stripe", p_status: "failed" })).toEqual(["evt_failed"]);
    expect(await list({ p_status: "stuck" })).toEqual(["evt_stuck"]);
    expect(await list({ p_status: "received" })).toEqual(["evt_stuck", "evt_fresh"]);
    expect(await list({ p_event_type: "TRANSACTION.SUCCESS" })).toEqual(["wx_failed"]);
    expect(await list({ p_from: "2026-11-22T10:01:00Z", p_to: "2026-11-22T10:04:00Z" })).toEqual([
      "wx_failed",
    ]);
    expect(await list({ p_limit: 1 })).toEqual(["evt_failed"]);
  });
});
