/**
 * One incident's page, the page every alert links to (/admin/incidents/<key>): how bad and how old, the
 * orders it is about (or why there is no order page), the error and cause from its detail, what to do for
 * its kind (the catalogue, in the page language), the next actions, and the detail JSON folded away.
 */
import type { Child } from "hono/jsx";
import { incidentKind, incidentTitle } from "../../../incidents/catalogue.ts";
import { providerName } from "../../../incidents/text.ts";
import {
  type IncidentPageData,
  type IncidentRow,
  missingOrderIds,
  type OrderBrief,
} from "../../incident-rows.ts";
import { formatAmount } from "../../money.ts";
import { Page, type PageContext } from "../layout.tsx";
import { StatusWord } from "../orders/orders.tsx";
import { When } from "../time.tsx";
import { incidentPath, NextActions } from "./next-actions.tsx";
import { INCIDENT_WORDS, type IncidentWords } from "./words.ts";

/** Detail fields that say why, shown as text under "Cause" (the rest stays in the JSON). */
const CAUSE_FIELDS = [
  ["error", "error"],
  ["message", "error"],
  ["reason", "reason"],
  ["problem", "problem"],
  ["not_settled", "reason"],
  ["fix", "fix"],
] as const;

export function SeverityBadge({ ctx, value }: { ctx: PageContext; value: string }) {
  return (
    <span class={`status ${value} nowrap`}>{INCIDENT_WORDS[ctx.lang].severityWord[value] ?? value}</span>
  );
}

/** Severity and status (`brief`: only what a list row does not say already: resolved, acknowledged, muted). */
export function IncidentBadges(props: { ctx: PageContext; incident: IncidentRow; brief?: boolean }) {
  const { ctx, incident, brief } = props;
  const w = INCIDENT_WORDS[ctx.lang];
  const muted = incident.muted_until !== null && Date.parse(incident.muted_until) > ctx.nowMs;
  const badges = [
    ...(brief ? [] : [<SeverityBadge ctx={ctx} value={incident.severity} />]),
    ...(brief && incident.status === "open"
      ? []
      : [
          <span class={`status ${incident.status} nowrap`}>
            {w.statusWord[incident.status] ?? incident.status}
          </span>,
        ]),
    ...(incident.acknowledged_by !== null ? [<span class="status nowrap">{w.acknowledged}</span>] : []),
    ...(muted ? [<span class="status nowrap">{w.muted}</span>] : []),
  ];
  return <span class="badges">{badges.map((badge, i) => (i === 0 ? badge : <> {badge}</>))}</span>;
}

type Fact = { id: string; label: string; value: Child };

function Facts({ ctx, w, data }: { ctx: PageContext; w: IncidentWords; data: IncidentPageData }) {
  const { incident } = data;
  const when = (at: string | null) => <When at={at} settings={ctx} />;
  const facts: Fact[] = [
    { id: "first-seen", label: w.firstSeen, value: when(incident.opened_at) },
    { id: "last-seen", label: w.lastSeen, value: when(incident.last_seen_at) },
    { id: "occurrences", label: w.occurrences, value: w.times(incident.occurrences) },
  ];
  if (incident.resolved_at)
    facts.push({ id: "resolved-at", label: w.resolvedAt, value: when(incident.resolved_at) });
  if (incident.acknowledged_by)
    facts.push({ id: "acknowledged-by", label: w.acknowledgedBy, value: incident.acknowledged_by });
  if (incident.muted_until)
    facts.push({ id: "muted-until", label: w.mutedUntil, value: when(incident.muted_until) });
  facts.push({ id: "key", label: w.key, value: <code>{incident.key}</code> });
  return (
    <table class="facts" id="incident-facts">
      {facts.map((fact) => (
        <tr id={`fact-${fact.id}`}>
          <th class="nowrap">{fact.label}</th>
          <td>{fact.value}</td>
        </tr>
      ))}
      {data.earlier > 0 && (
        <tr>
          <td colspan={2} class="muted">
            {w.earlier(data.earlier)}
          </td>
        </tr>
      )}
    </table>
  );
}

function Orders({
  ctx,
  w,
  orders,
  missing,
}: {
  ctx: PageContext;
  w: IncidentWords;
  orders: OrderBrief[];
  missing: string[];
}) {
  if (orders.length === 0 && missing.length === 0) return null;
  return (
    <section id="incident-orders">
      <h2>{w.orders}</h2>
      {missing.map((id) => (
        <p class="flash bad order-missing" data-order={id}>
          {w.orderNotStored(id)}
        </p>
      ))}
      {orders.length > 0 && (
        <table class="stack">
          <thead>
            <tr>
              <th>{w.order}</th>
              <th>{w.orderStatus}</th>
              <th class="num">{w.amount}</th>
              <th class="num">{w.credits}</th>
              <th>{w.provider}</th>
              <th>{w.paymentRef}</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr data-order={order.id}>
                <td data-label={w.order} class="nowrap">
                  <a href={`/admin/orders/${order.id}`}>
                    <code>{order.id}</code>
                  </a>
                </td>
                <td data-label={w.orderStatus}>
                  <StatusWord ctx={ctx} value={order.status} />
                </td>
                <td data-label={w.amount} class="num nowrap order-amount">
                  {formatAmount(order.amount_minor, order.currency)}
                </td>
                <td data-label={w.credits} class="num">
                  {order.credits}
                </td>
                <td data-label={w.provider}>{providerName(order.provider, ctx.lang === "zh")}</td>
                <td data-label={w.paymentRef}>
                  <code>{order.payment_ref ?? "—"}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Cause({ w, incident }: { w: IncidentWords; incident: IncidentRow }) {
  const lines = CAUSE_FIELDS.flatMap(([field, label]) => {
    const value = incident.detail[field];
    return typeof value === "string" && value !== "" ? [[w[label], value, field] as const] : [];
  });
  if (lines.length === 0) return null;
  return (
    <section id="incident-cause">
      <h2>{w.cause}</h2>
      <table>
        {lines.map(([label, value, field]) => (
          <tr class={`cause-${field}`}>
            <th class="nowrap">{label}</th>
            <td>
              <code>{value}</code>
            </td>
          </tr>
        ))}
      </table>
    </section>
  );
}

function Related({ ctx, w, data }: { ctx: PageContext; w: IncidentWords; data: IncidentPageData }) {
  if (data.related.length === 0) return null;
  const auditCopies = new Set([`audit:${data.incident.key}`]);
  return (
    <section id="related-incidents">
      <h2>{w.related}</h2>
      <ul>
        {data.related.map((other) => (
          <li data-key={other.key}>
            <SeverityBadge ctx={ctx} value={other.severity} />{" "}
            <a href={incidentPath(other.key)}>
              {incidentTitle(other.kind, other.detail, other.summary, ctx.lang)}
            </a>{" "}
            {auditCopies.has(other.key) && <span class="muted also-audit">· {w.alsoSeenByAudit}</span>}{" "}
            <span class="muted">
              · <When at={other.opened_at} settings={ctx} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function IncidentPage({ ctx, data }: { ctx: PageContext; data: IncidentPageData }) {
  const w = INCIDENT_WORDS[ctx.lang];
  const { incident } = data;
  const title = incidentTitle(incident.kind, incident.detail, incident.summary, ctx.lang);
  const runbook = incidentKind(incident.kind).runbook[ctx.lang];
  return (
    <Page ctx={ctx} title={`${w.incident} · ${incident.key}`}>
      <p class="muted">
        <a href="/admin/incidents">{w.incidents}</a> ›
      </p>
      <h1 id="incident-title">{title}</h1>
      <p>
        <IncidentBadges ctx={ctx} incident={incident} />
      </p>
      <Facts ctx={ctx} w={w} data={data} />
      <Orders ctx={ctx} w={w} orders={data.orders} missing={missingOrderIds(incident.detail, data.orders)} />
      <Cause w={w} incident={incident} />
      <section id="what-to-do">
        <h2>{w.whatToDo}</h2>
        <ol>
          {runbook.map((step) => (
            <li>{step}</li>
          ))}
        </ol>
      </section>
      <NextActions ctx={ctx} data={data} />
      <Related ctx={ctx} w={w} data={data} />
      <details id="incident-detail">
        <summary>{w.detailJson}</summary>
        <p class="muted">
          {w.summaryLine}: {incident.summary}
        </p>
        <pre>
          <code>{JSON.stringify(incident.detail, null, 2)}</code>
        </pre>
      </details>
    </Page>
  );
}
