import { describe, expect, it } from "vitest";
import type { IncidentRow, OrderBrief } from "../../../src/admin/incident-rows.ts";
import { missingOrderIds } from "../../../src/admin/incident-rows.ts";
import { auditCopiesOf, restatedKeys, triage, worstSeverity } from "../../../src/admin/ui/incidents/model.ts";

const order = (id: string): OrderBrief => ({
  id,
  status: "needs_review",
  provider: "stripe",
  user_id: "00000000-0000-4000-8000-000000000001",
  package_id: "credits_100",
  amount_minor: 1999,
  currency: "USD",
  credits: 100,
  refunded_minor: 0,
  payment_ref: null,
  provider_ref: null,
  review_reason: null,
  paid_at: null,
  created_at: "2026-12-01T08:00:00Z",
});

const incident = (key: string, extra: Partial<IncidentRow> = {}): IncidentRow => ({
  key,
  kind: key.split(":")[0] ?? "",
  severity: "critical",
  status: "open",
  summary: key,
  detail: {},
  occurrences: 1,
  opened_at: "2026-12-01T08:00:00Z",
  last_seen_at: "2026-12-01T08:00:00Z",
  resolved_at: null,
  acknowledged_at: null,
  acknowledged_by: null,
  muted_until: null,
  muted_by: null,
  orders: [],
  ...extra,
});

describe("incident triage", () => {
  it("merges an audit copy into the fact it restates and groups one order's incidents, worst first", () => {
    const a = order("ord_aaaaaa");
    // Worst-first, as admin_incident_list answers.
    const list = [
      incident("audit:needs_review:ord_aaaaaa", { orders: [a], severity: "warning" }),
      incident("data_api:unavailable"),
      incident("needs_review:ord_aaaaaa", { orders: [a] }),
      incident("app_hook_failed:ord_gone01", { detail: { order_id: "ord_gone01" } }),
      incident("late_payment:ord_aaaaaa", { orders: [a], severity: "warning" }),
      incident("audit:failed_inbox_event:stripe:evt_gone", {
        detail: { order_id: "ord_gone01" },
        severity: "warning",
      }),
    ];
    const groups = triage(list);
    expect(groups.map((g) => [g.orderId, g.rows.map((r) => r.incident.key)])).toEqual([
      ["ord_aaaaaa", ["needs_review:ord_aaaaaa", "late_payment:ord_aaaaaa"]],
      [null, ["data_api:unavailable"]],
      ["ord_gone01", ["app_hook_failed:ord_gone01", "audit:failed_inbox_event:stripe:evt_gone"]],
    ]);
    const review = groups[0]?.rows[0];
    expect(review?.auditCopies.map((copy) => copy.key)).toEqual(["audit:needs_review:ord_aaaaaa"]);
    expect(groups[0]?.order).toBe(a);
    expect(groups[2]?.order).toBeNull();
    if (review) expect(worstSeverity(review)).toBe("critical");
  });

  it("merges the audit's failed inbox event into the Stripe event that matched no order", () => {
    const groups = triage([
      incident("unknown_order:stripe:evt_123"),
      incident("audit:failed_inbox_event:stripe:evt_123", { severity: "warning" }),
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.rows[0]?.auditCopies.map((copy) => copy.key)).toEqual([
      "audit:failed_inbox_event:stripe:evt_123",
    ]);
    expect(restatedKeys("audit:needs_review:ord_x")).toEqual(["needs_review:ord_x"]);
    expect(restatedKeys("needs_review:ord_x")).toEqual([]);
  });

  it("keeps a resolved fact and an open audit copy apart, and finds only open copies to act on", () => {
    const resolved = incident("needs_review:ord_bbbbbb", { status: "resolved" });
    const copy = incident("audit:needs_review:ord_bbbbbb");
    expect(triage([copy, resolved]).flatMap((g) => g.rows.map((r) => r.incident.key))).toEqual([
      "audit:needs_review:ord_bbbbbb",
      "needs_review:ord_bbbbbb",
    ]);
    expect(auditCopiesOf("needs_review:ord_bbbbbb", [copy, resolved]).map((c) => c.key)).toEqual([
      "audit:needs_review:ord_bbbbbb",
    ]);
    expect(auditCopiesOf("needs_review:ord_bbbbbb", [{ ...copy, status: "resolved" }])).toEqual([]);
  });

  it("names the orders an incident is about that are not stored", () => {
    expect(missingOrderIds({ order_id: "ord_gone01" }, [])).toEqual(["ord_gone01"]);
    expect(missingOrderIds({ order_id: "ord_aaaaaa" }, [order("ord_aaaaaa")])).toEqual([]);
    expect(missingOrderIds({ order_id: "unknown" }, [])).toEqual([]);
  });
});
