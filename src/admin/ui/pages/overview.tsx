/** Overview: the window's numbers, payments/repairs over time, latency by path, jobs' last runs. */
import type { Row } from "../../store.ts";
import { BarsChart, LatencyChart } from "../charts.tsx";
import { fmtTime, Page, type PageContext, StatusBadge } from "../layout.tsx";

type Latency = Record<string, { count: number; p50: number; p95: number }>;
type Webhooks = Record<string, { received: number; ok: number; success_rate: number | null }>;

export function OverviewPage({ ctx, data, hours }: { ctx: PageContext; data: Row; hours: number }) {
  const { t } = ctx;
  const statuses = Object.entries((data.orders_by_status ?? {}) as Record<string, number>);
  const latency = Object.entries((data.latency_ms_by_path ?? {}) as Latency);
  const webhooks = Object.entries((data.webhooks_by_provider ?? {}) as Webhooks);
  const series = (data.series ?? []) as Array<{ at: string; payments: number; repairs: number }>;
  const runs = Object.entries((data.last_job_runs ?? {}) as Record<string, Row>);
  return (
    <Page ctx={ctx} title={t.overview}>
      <h1>{t.overview}</h1>
      <form method="get" action="/admin" class="filters">
        <label>
          {t.window}
          <select name="hours">
            {[1, 24, 168, 720].map((h) => (
              <option value={String(h)} selected={h === hours}>{`${h} ${t.hours}`}</option>
            ))}
          </select>
        </label>
        <button type="submit" class="quiet">
          {t.show}
        </button>
      </form>
      <div class="cards">
        <div class="card">
          <h2>{t.openIncidents}</h2>
          <div class="big" id="open-incidents">
            {String(data.open_incidents ?? 0)}
          </div>
        </div>
        <div class="card">
          <h2>{t.repaired}</h2>
          <div class="big">{String(data.repaired_by_reconcile ?? 0)}</div>
        </div>
        <div class="card">
          <h2>{t.ordersByStatus}</h2>
          {statuses.length === 0 ? (
            <p class="muted">{t.none}</p>
          ) : (
            statuses.map(([status, n]) => (
              <div>
                <StatusBadge value={status} /> {n}
              </div>
            ))
          )}
        </div>
      </div>
      <div class="cards">
        <div class="card">
          <h2>{t.paymentsOverTime}</h2>
          <BarsChart
            labels={series.map((point) => fmtTime(point.at).slice(5, 16))}
            series={[
              { label: t.payments, color: "#2856c7", values: series.map((point) => point.payments) },
              { label: t.repairs, color: "#e08a00", values: series.map((point) => point.repairs) },
            ]}
          />
        </div>
        <div class="card">
          <h2>{t.latency}</h2>
          {latency.length === 0 ? (
            <p class="muted">{t.none}</p>
          ) : (
            <LatencyChart
              rows={latency.map(([path, v]) => ({ path: `${path} (${v.count})`, p50: v.p50, p95: v.p95 }))}
            />
          )}
        </div>
      </div>
      <h2>{t.webhooks}</h2>
      {webhooks.length === 0 && <p class="muted">{t.none}</p>}
      <table>
        <tr>
          <th>{t.provider}</th>
          <th class="num">{t.received}</th>
          <th class="num">{t.successRate}</th>
        </tr>
        {webhooks.map(([provider, w]) => (
          <tr>
            <td>{provider}</td>
            <td class="num">{w.received}</td>
            <td class="num">{w.success_rate === null ? "–" : `${(w.success_rate * 100).toFixed(1)}%`}</td>
          </tr>
        ))}
      </table>
      <h2>{t.lastRuns}</h2>
      {runs.length === 0 && <p class="muted">{t.none}</p>}
      <table>
        <tr>
          <th>{t.job}</th>
          <th>{t.status}</th>
          <th>{t.started}</th>
        </tr>
        {runs.map(([job, run]) => (
          <tr>
            <td>{job}</td>
            <td>
              <StatusBadge value={run.status} />
            </td>
            <td>{fmtTime(run.started_at)}</td>
          </tr>
        ))}
      </table>
    </Page>
  );
}
