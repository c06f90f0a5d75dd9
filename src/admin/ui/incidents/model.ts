/**
 * The incident pages' read model, pure: which incidents restate another, and the triage list: duplicates merged, grouped by order, worst first.
 */
import { type IncidentRow, namedOrderIds, type OrderBrief, type Severity } from "../../incident-rows.ts";

const AUDIT_PREFIX = "audit:";

/**
 * The incidents an `audit:` incident restates, by key. The hourly audit re-finds facts a settlement already
 * raised: `audit:needs_review:<order>` is the order's `needs_review:<order>`, and a Stripe event that matched
 * no order is both `unknown_order:stripe:<event>` and the audit's failed inbox event.
 */
export function restatedKeys(key: string): string[] {
  if (!key.startsWith(AUDIT_PREFIX)) return [];
  const finding = key.slice(AUDIT_PREFIX.length);
  const event = /^failed_inbox_event:stripe:(evt_.+)$/.exec(finding);
  return event ? [finding, `unknown_order:stripe:${event[1]}`] : [finding];
}

/** The open audit copies of `key` in `incidents` (acknowledging or muting a fact covers its copy too). */
export const auditCopiesOf = (key: string, incidents: Pick<IncidentRow, "key" | "status">[]) =>
  incidents.filter((other) => other.status === "open" && restatedKeys(other.key).includes(key));

export interface TriageRow {
  incident: IncidentRow;
  /** The same fact found again by the audit, shown on this row ("also seen by the audit"). */
  auditCopies: IncidentRow[];
}

export interface TriageGroup {
  /** The order the rows are about (stored, or named but not stored); null: not about one order. */
  orderId: string | null;
  order: OrderBrief | null;
  rows: TriageRow[];
}

const orderOf = (incident: IncidentRow): { id: string | null; order: OrderBrief | null } => {
  const stored = incident.orders?.[0] ?? null;
  return { id: stored?.id ?? namedOrderIds(incident.detail)[0] ?? null, order: stored };
};

/**
 * Groups a worst-first list (admin_incident_list's order) for triage. An audit incident that restates
 * another incident of the list with the same status is merged into that incident's row rather than shown
 * twice: they are one fact, found by two paths, and the operator acts once. The rest are grouped by the
 * order they are about; a group and the rows in it keep the position of their worst member, so the oldest
 * open critical stays on top.
 */
export function triage(incidents: IncidentRow[]): TriageGroup[] {
  const byKey = new Map(incidents.map((incident) => [incident.key, incident]));
  const ownerOf = (incident: IncidentRow): IncidentRow =>
    restatedKeys(incident.key)
      .map((key) => byKey.get(key))
      .find((fact) => fact !== undefined && fact.status === incident.status) ?? incident;
  const groups = new Map<string, TriageGroup>();
  const rows = new Map<string, TriageRow>();
  for (const incident of incidents) {
    const owner = ownerOf(incident);
    let row = rows.get(owner.key);
    if (!row) {
      row = { incident: owner, auditCopies: [] };
      rows.set(owner.key, row);
      const { id, order } = orderOf(owner);
      const groupKey = id === null ? `incident:${owner.key}` : `order:${id}`;
      const group = groups.get(groupKey) ?? { orderId: id, order, rows: [] };
      group.order ??= order;
      group.rows.push(row);
      groups.set(groupKey, group);
    }
    if (owner !== incident) row.auditCopies.push(incident);
  }
  return [...groups.values()];
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** The worst severity of a row, its audit copies included. */
export const worstSeverity = (row: TriageRow): Severity =>
  [row.incident, ...row.auditCopies].reduce(
    (worst, incident) =>
      (SEVERITY_RANK[incident.severity] ?? 2) < (SEVERITY_RANK[worst] ?? 2) ? incident.severity : worst,
    row.incident.severity,
  );
