/**
 * The triage list (/admin/incidents): worst first, one order's incidents together under the order, an
 * audit's copy of a fact shown on the fact's row, filters by status and severity, and one bulk form
 * (acknowledge or mute the checked rows; no reason asked). On a phone each row is a card.
 */
import { incidentTitle } from "../../../incidents/catalogue.ts";
import { type IncidentRow, SEVERITIES, type Severity } from "../../incident-rows.ts";
import { formatAmount } from "../../money.ts";
import { ActionForm, Page, type PageContext } from "../layout.tsx";
import { StatusWord } from "../orders/orders.tsx";
import { formatInstant, formatRelative } from "../time.tsx";
import { type TriageGroup, type TriageRow, worstSeverity } from "./model.ts";
import { incidentPath, MUTE_CHOICES_MIN } from "./next-actions.tsx";
import { IncidentBadges, SeverityBadge } from "./page.tsx";
import { INCIDENT_WORDS, type IncidentWords } from "./words.ts";

export type StatusFilter = "open" | "resolved" | "all";
export interface ListFilter {
  status: StatusFilter;
  severity?: Severity;
  /** One incident kind (the overview's app hook link). */
  kind?: string;
}

const BULK_FORM = "incidents-bulk";

/** The list's address for a filter; also the only list addresses an action may come back to. */
export function listPath(filter: ListFilter): string {
  const params = new URLSearchParams();
  if (filter.status !== "open") params.set("status", filter.status);
  if (filter.severity) params.set("severity", filter.severity);
  if (filter.kind) params.set("kind", filter.kind);
  const query = params.toString();
  return query ? `/admin/incidents?${query}` : "/admin/incidents";
}

function Filters({ w, filter }: { w: IncidentWords; filter: ListFilter }) {
  const link = (next: ListFilter, label: string, on: boolean) =>
    on ? <strong>{label}</strong> : <a href={listPath(next)}>{label}</a>;
  return (
    <p class="filters" id="incident-filters">
      <span>
        {w.status}:{" "}
        {(["open", "resolved", "all"] as const).map((status) => (
          <>{link({ ...filter, status }, w.statusWord[status] ?? status, filter.status === status)} </>
        ))}
      </span>
      <span>
        {w.severity}: {link({ ...filter, severity: undefined }, w.anySeverity, !filter.severity)}{" "}
        {SEVERITIES.map((severity) => (
          <>
            {link(
              { ...filter, severity },
              w.severityWord[severity] ?? severity,
              filter.severity === severity,
            )}{" "}
          </>
        ))}
      </span>
      {filter.kind && (
        <span id="kind-filter">
          {w.kind}: <code>{filter.kind}</code> ({link({ ...filter, kind: undefined }, w.allKinds, false)})
        </span>
      )}
    </p>
  );
}

function GroupHeader({ ctx, w, group }: { ctx: PageContext; w: IncidentWords; group: TriageGroup }) {
  if (group.orderId === null) return null;
  const { order } = group;
  return (
    <tr class="group" data-order={group.orderId}>
      <td colspan={6}>
        {w.order}{" "}
        {order ? (
          <>
            <a href={`/admin/orders/${order.id}`}>
              <code>{order.id}</code>
            </a>{" "}
            · <span class="nowrap">{formatAmount(order.amount_minor, order.currency)}</span> ·{" "}
            <StatusWord ctx={ctx} value={order.status} />
          </>
        ) : (
          <>
            <code>{group.orderId}</code> <span class="muted">· {w.notStored}</span>
          </>
        )}
      </td>
    </tr>
  );
}

function amountOf(incident: IncidentRow): string {
  const order = incident.orders?.[0];
  if (order) return formatAmount(order.amount_minor, order.currency);
  const { amount_minor: minor, currency } = incident.detail;
  return typeof minor === "number" && typeof currency === "string" ? formatAmount(minor, currency) : "";
}

function Row({ ctx, w, row, back }: { ctx: PageContext; w: IncidentWords; row: TriageRow; back: string }) {
  const { incident } = row;
  const open = incident.status === "open";
  const amount = amountOf(incident);
  return (
    <tr data-key={incident.key} class="incident">
      <td data-label={w.select}>
        {open && (
          <input type="checkbox" name="key" value={incident.key} form={BULK_FORM} aria-label={w.select} />
        )}{" "}
        <SeverityBadge ctx={ctx} value={worstSeverity(row)} />
      </td>
      <td data-label={w.incident}>
        <a href={incidentPath(incident.key)} class="incident-title">
          {incidentTitle(incident.kind, incident.detail, incident.summary, ctx.lang)}
        </a>
        <br />
        <code class="muted">{incident.key}</code> <IncidentBadges ctx={ctx} incident={incident} brief />
        {row.auditCopies.map((copy) => (
          <div class="muted also-audit" data-key={copy.key}>
            {w.alsoSeenByAudit}:{" "}
            <a href={incidentPath(copy.key)}>
              <code>{copy.key}</code>
            </a>
          </div>
        ))}
      </td>
      <td data-label={w.age} class="age">
        <time datetime={incident.opened_at}>{formatRelative(incident.opened_at, ctx)}</time>
        <br />
        <span class="muted">{formatInstant(incident.opened_at, ctx)}</span>
      </td>
      <td data-label={w.lastSeen} class="nowrap">
        {formatRelative(incident.last_seen_at, ctx)} · {w.times(incident.occurrences)}
      </td>
      <td data-label={amount ? w.amount : undefined} class="num nowrap">
        {amount}
      </td>
      <td data-label={w.acknowledgedBy} class="nowrap">
        {open && incident.acknowledged_by === null ? (
          <ActionForm ctx={ctx} action="/admin/incidents/acknowledge">
            <input type="hidden" name="key" value={incident.key} />
            <input type="hidden" name="back" value={back} />
            <button type="submit" class="quiet">
              {w.acknowledge}
            </button>
          </ActionForm>
        ) : (
          <span class="acknowledged-by">{incident.acknowledged_by ?? ""}</span>
        )}
      </td>
    </tr>
  );
}

function BulkForm({ ctx, w, back }: { ctx: PageContext; w: IncidentWords; back: string }) {
  return (
    <div class="actions" id="bulk-actions">
      <ActionForm ctx={ctx} action="/admin/incidents/acknowledge" id={BULK_FORM}>
        <input type="hidden" name="back" value={back} />
        <span>{w.selectAll}</span>
        <button type="submit">{w.acknowledgeSelected}</button>
        <span>{w.muteSelected}:</span>
        {MUTE_CHOICES_MIN.map((minutes) => (
          <button
            type="submit"
            formaction="/admin/incidents/mute"
            name="minutes"
            value={String(minutes)}
            class="quiet"
          >
            {w.muteFor[minutes]}
          </button>
        ))}
      </ActionForm>
    </div>
  );
}

export function IncidentsListPage({
  ctx,
  groups,
  filter,
}: {
  ctx: PageContext;
  groups: TriageGroup[];
  filter: ListFilter;
}) {
  const w = INCIDENT_WORDS[ctx.lang];
  const back = listPath(filter);
  return (
    <Page ctx={ctx} title={w.incidents}>
      <h1>{w.incidents}</h1>
      <Filters w={w} filter={filter} />
      {groups.length === 0 ? (
        <p class="muted">{w.none}</p>
      ) : (
        <>
          {filter.status !== "resolved" && <BulkForm ctx={ctx} w={w} back={back} />}
          <table id="incidents" class="stack">
            <thead>
              <tr>
                <th>{w.severity}</th>
                <th>{w.incident}</th>
                <th>{w.age}</th>
                <th>{w.lastSeen}</th>
                <th class="num">{w.amount}</th>
                <th>{w.acknowledgedBy}</th>
              </tr>
            </thead>
            {groups.map((group) => (
              <tbody data-group={group.orderId ?? ""}>
                <GroupHeader ctx={ctx} w={w} group={group} />
                {group.rows.map((row) => (
                  <Row ctx={ctx} w={w} row={row} back={back} />
                ))}
              </tbody>
            ))}
          </table>
        </>
      )}
    </Page>
  );
}
