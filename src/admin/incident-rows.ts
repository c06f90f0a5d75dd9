/**
 * The incident read models as payguard.admin_incident and admin_incident_list return them (snake_case,
 * like every admin row), the shape of an incident key, and which orders an incident names; shared by the
 * console and the admin API.
 */
import { z } from "zod";

/** Keys are `<family>:<subject…>` (needs_review:ord_…, audit:held_payment:stripe:pi_…, data_api:unavailable). */
export const INCIDENT_KEY = z.string().regex(/^[a-z][a-z_]{0,40}:[\x20-\x7E]{1,280}$/, "incident key");

/** Incidents one triage list (page or API answer) carries. */
export const INCIDENT_LIST_MAX = 300;

export type Severity = "critical" | "warning" | "info";
export const SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];

export interface OrderBrief {
  id: string;
  status: string;
  provider: string;
  user_id: string;
  package_id: string;
  amount_minor: number;
  currency: string;
  credits: number;
  refunded_minor: number;
  payment_ref: string | null;
  provider_ref: string | null;
  review_reason: string | null;
  paid_at: string | null;
  created_at: string;
}

export interface IncidentRow {
  key: string;
  kind: string;
  severity: Severity;
  status: "open" | "resolved";
  summary: string;
  detail: Record<string, unknown>;
  occurrences: number;
  opened_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  muted_until: string | null;
  muted_by: string | null;
  /** Stored orders it is about (admin_incident_list); on the page they come beside it. */
  orders?: OrderBrief[];
}

export interface RelatedIncident {
  key: string;
  kind: string;
  severity: Severity;
  status: "open";
  summary: string;
  detail: Record<string, unknown>;
  opened_at: string;
}

export interface IncidentPageData {
  incident: IncidentRow;
  orders: OrderBrief[];
  /** Earlier rows of the same key (raised, resolved, raised again). */
  earlier: number;
  related: RelatedIncident[];
}

/** Order ids the detail names itself, stored or not (`orderId`: the WeChat Pay bill's findings). */
export function namedOrderIds(detail: Record<string, unknown>): string[] {
  const ids = [detail.order_id, detail.orderId].filter(
    (id): id is string => typeof id === "string" && id !== "" && id !== "unknown",
  );
  return [...new Set(ids)];
}

/** Named orders that are not stored: an app hook failure rolled back the settlement that would create them. */
export const missingOrderIds = (detail: Record<string, unknown>, orders: OrderBrief[]) =>
  namedOrderIds(detail).filter((id) => !orders.some((order) => order.id === id));
