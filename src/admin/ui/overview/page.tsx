/**
 * The overview, the first page after sign-in: is money at risk? The "needs attention" band first, then
 * cards that link to their lists (incidents by severity, orders by status), payments over time, latency,
 * webhook deliveries and the jobs' last runs.
 */
import type { Row } from "../../store.ts";
import type { PageContext } from "../layout.tsx";
import { Page } from "../layout.tsx";
import { ORDER_WORDS } from "../orders/words.ts";
import { type Attention, AttentionBand } from "./attention.tsx";
import { LastRuns, LatencyCard, PaymentsChart, WebhooksTable } from "./sections.tsx";
import { OVERVIEW_WORDS, wordFor } from "./words.ts";

/** The windows the form offers, in hours. */
export const OVERVIEW_WINDOWS_H = [1, 24, 168, 720] as const;
const SEVERITIES = ["critical", "warning", "info"] as const;

function WindowForm({ ctx, hours }: { ctx: PageContext; hours: number }) {
  const { t } = ctx;
  return (
    <form method="get" action="/admin" class="filters">
      <label>
        {t.window}
        <select name="hours">
          {OVERVIEW_WINDOWS_H.map((h) => (
            <option value={String(h)} selected={h === hours}>{`${h} ${t.hours}`}</option>
          ))}
        </select>
      </label>
      <button type="submit" class="quiet">
        {t.show}
      </button>
    </form>
  );
}

function IncidentsCard({ ctx, data }: { ctx: PageContext; data: Row }) {
  const w = OVERVIEW_WORDS[ctx.lang];
  const bySeverity = (data.incidents_by_severity ?? {}) as Record<string, number>;
  return (
    <div class="card">
      <h2>{ctx.t.openIncidents}</h2>
      <a class="big" href="/admin/incidents" id="open-incidents">
        {String(data.open_incidents ?? 0)}
      </a>
      <div class="chips" title={w.incidentsBySeverity}>
        {SEVERITIES.filter((s) => Number(bySeverity[s] ?? 0) > 0).map((severity) => (
          <a
            class={`status ${severity}`}
            href={`/admin/incidents?severity=${severity}`}
            id={`incidents-${severity}`}
          >
            {`${wordFor(w, "severity", severity)} ${bySeverity[severity]}`}
          </a>
        ))}
      </div>
    </div>
  );
}

function StatusCard({ ctx, data }: { ctx: PageContext; data: Row }) {
  const statuses = Object.entries((data.orders_by_status ?? {}) as Record<string, number>);
  const words = ORDER_WORDS[ctx.lang].status;
  // Counted over orders created in the window: the list opens on the same window.
  const from = encodeURIComponent(String(data.since ?? ""));
  return (
    <div class="card">
      <h2>{ctx.t.ordersByStatus}</h2>
      {statuses.length === 0 ? (
        <p class="muted">{ctx.t.none}</p>
      ) : (
        <div class="chips" id="orders-by-status">
          {statuses.map(([status, n]) => (
            <a class={`status ${status}`} href={`/admin/orders?status=${status}&from=${from}`}>
              {`${words[status] ?? status} ${n}`}
            </a>
          ))}
        </div>
      )}
    </div>
  );
}

export function OverviewPage(props: { ctx: PageContext; data: Row; attention: Attention; hours: number }) {
  const { ctx, data } = props;
  return (
    <Page ctx={ctx} title={ctx.t.overview}>
      <h1>{ctx.t.overview}</h1>
      <WindowForm ctx={ctx} hours={props.hours} />
      <AttentionBand ctx={ctx} attention={props.attention} />
      <div class="cards">
        <IncidentsCard ctx={ctx} data={data} />
        <div class="card">
          <h2>{ctx.t.repaired}</h2>
          <div class="big">{String(data.repaired_by_reconcile ?? 0)}</div>
        </div>
        <StatusCard ctx={ctx} data={data} />
      </div>
      <div class="cards">
        <PaymentsChart ctx={ctx} data={data} />
        <LatencyCard ctx={ctx} data={data} />
      </div>
      <WebhooksTable ctx={ctx} data={data} />
      <LastRuns ctx={ctx} data={data} />
    </Page>
  );
}
