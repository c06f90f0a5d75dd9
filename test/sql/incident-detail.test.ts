import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, PACKAGE_SQL, paidOrder } from "../support/node/ledger-db.ts";

const T0 = "2026-12-01T08:00:00.000Z";
const T1 = "2026-12-01T09:00:00.000Z";
const T2 = "2026-12-01T10:00:00.000Z";

interface Incident {
  key: string;
  severity: string;
  status: string;
  orders: Array<{ id: string; amount_minor: number; currency: string; status: string }>;
}

describe.each(ledgerBackends("incident detail SQL"))("incident page read models on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const raise = (key: string, kind: string, severity: string, detail: Record<string, unknown>, now: string) =>
    ledger.call("open_incident", {
      p_key: key,
      p_kind: kind,
      p_severity: severity,
      p_summary: `summary of ${key}`,
      p_detail: detail,
      p_now: now,
    });

  it("answers one incident by key with the orders it names and the other open incidents about them", async () => {
    const { orderId } = await paidOrder(ledger, randomUUID(), T0);
    const missing = `ord_missing_${randomUUID().slice(0, 8)}`;
    await raise(`late_payment:${orderId}`, "late_payment", "warning", { order_id: orderId }, T0);
    await raise(
      `audit:pending_past_expiry:${orderId}`,
      "audit_pending_past_expiry",
      "warning",
      { subject: orderId },
      T1,
    );
    await raise(
      `app_hook_failed:${missing}`,
      "app_hook_failed",
      "critical",
      { order_id: missing, error: "no row" },
      T1,
    );
    await raise(
      `audit:failed_inbox_event:stripe:evt_${missing}`,
      "audit_failed_inbox_event",
      "warning",
      { order_id: missing },
      T1,
    );

    const page = await ledger.call<{
      incident: { key: string; status: string };
      orders: Array<{ id: string; amount_minor: number; currency: string; status: string }>;
      related: Array<{ key: string }>;
      earlier: number;
    }>("admin_incident", { p_key: `late_payment:${orderId}` });
    expect(page.incident).toMatchObject({ key: `late_payment:${orderId}`, status: "open" });
    expect(page.orders).toEqual([
      expect.objectContaining({ id: orderId, amount_minor: 1999, currency: "USD", status: "fulfilled" }),
    ]);
    expect(page.related.map((r) => r.key)).toEqual([`audit:pending_past_expiry:${orderId}`]);
    expect(page.earlier).toBe(0);

    // The order was never stored: no order comes back, but the incidents naming it are still related.
    const hook = await ledger.call<{ orders: unknown[]; related: Array<{ key: string }> }>("admin_incident", {
      p_key: `app_hook_failed:${missing}`,
    });
    expect(hook.orders).toEqual([]);
    expect(hook.related.map((r) => r.key)).toEqual([`audit:failed_inbox_event:stripe:evt_${missing}`]);

    expect(await ledger.call("admin_incident", { p_key: `never_raised:${randomUUID()}` })).toBeNull();
  });

  it("finds a resolved incident, preferring the open one of a key raised again", async () => {
    const key = `refund_awaited:ord_again_${randomUUID().slice(0, 8)}`;
    await raise(key, "refund_awaited", "warning", {}, T0);
    await ledger.call("resolve_incident", { p_key: key, p_now: T1 });
    const resolved = await ledger.call<{ incident: { status: string } }>("admin_incident", { p_key: key });
    expect(resolved.incident.status).toBe("resolved");
    await raise(key, "refund_awaited", "warning", {}, T2);
    const again = await ledger.call<{ incident: { status: string }; earlier: number }>("admin_incident", {
      p_key: key,
    });
    expect(again).toMatchObject({ incident: { status: "open" }, earlier: 1 });
  });

  it("lists open incidents worst first, then the oldest, each with its orders; filters by status and severity", async () => {
    const tag = randomUUID().slice(0, 8);
    const { orderId } = await paidOrder(ledger, randomUUID(), T0);
    await raise(`t_${tag}:warning_old`, "x", "warning", {}, T0);
    await raise(`t_${tag}:critical_new`, "x", "critical", { order_id: orderId }, T2);
    await raise(`t_${tag}:critical_old`, "x", "critical", {}, T1);
    await raise(`t_${tag}:info`, "x", "info", {}, T0);
    await raise(`t_${tag}:resolved`, "x", "critical", {}, T0);
    await ledger.call("resolve_incident", { p_key: `t_${tag}:resolved`, p_now: T1 });

    const ours = (rows: Incident[]) => rows.filter((row) => row.key.startsWith(`t_${tag}:`));
    const list = (status: string | null, severity: string | null) =>
      ledger.call<Incident[]>("admin_incident_list", {
        p_status: status,
        p_severity: severity,
        p_limit: 500,
      });

    const open = ours(await list("open", null));
    expect(open.map((row) => row.key.split(":")[1])).toEqual([
      "critical_old",
      "critical_new",
      "warning_old",
      "info",
    ]);
    expect(open[1]?.orders).toEqual([expect.objectContaining({ id: orderId, amount_minor: 1999 })]);
    expect(ours(await list("open", "critical")).map((row) => row.key.split(":")[1])).toEqual([
      "critical_old",
      "critical_new",
    ]);
    const all = ours(await list(null, null));
    expect(all.at(-1)).toMatchObject({ key: `t_${tag}:resolved`, status: "resolved" });
    expect(all[0]).not.toHaveProperty("rank");
  });

  it("is executable by service_role only", async () => {
    for (const role of ["anon", "authenticated"] as const) {
      await expect(ledger.call("admin_incident", { p_key: "k:1" }, role)).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        ledger.call("admin_incident_list", { p_status: null, p_severity: null, p_limit: 1 }, role),
      ).rejects.toThrow(/permission denied/);
    }
  });
});
