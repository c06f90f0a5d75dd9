/**
 * The overview's lower sections: payments and repairs over the window (times on the axis in the
 * operator's zone), paid → credited latency by settle path in human units, webhook deliveries per
 * provider (success over delivery attempts) and each job's last run.
 */
import type { Row } from "../../store.ts";
import { BarsChart, PairBar } from "../charts.tsx";
import type { PageContext } from "../layout.tsx";
import { formatInstant, When } from "../time.tsx";
import { formatDuration, formatRate } from "./format.ts";
import { fill, OVERVIEW_WORDS, wordFor } from "./words.ts";

type Latency = Record<string, { count: number; p50: number; p95: number }>;
type Webhooks = Record<
  string,
  { received: number; deliveries: number; failed: number; success_rate: number | null }
>;

/** Windows up to this long label their axis with the time of day only. */
const TIME_OF_DAY_WINDOW_MAX_S = 24 * 3600;

/** "14:03" or "12-06 14:03" in the operator's zone, and that zone's short name. */
function tick(at: unknown, ctx: PageContext, withDate: boolean): { label: string; zone: string } {
  const [date = "", time = "", ...zone] = formatInstant(at, ctx).split(" ");
  return { label: withDate ? `${date.slice(5)} ${time}` : time, zone: zone.join(" ") };
}

export function PaymentsChart({ ctx, data }: { ctx: PageContext; data: Row }) {
  const { t } = ctx;
  const w = OVERVIEW_WORDS[ctx.lang];
  const series = (data.series ?? []) as Array<{ payments: number; repairs: number }>;
  const sinceMs = Date.parse(String(data.since));
  const untilMs = Date.parse(String(data.until));
  const withDate = (untilMs - sinceMs) / 1000 > TIME_OF_DAY_WINDOW_MAX_S;
  const ticks = [sinceMs, (sinceMs + untilMs) / 2, untilMs].map((ms) => tick(ms, ctx, withDate));
  const bucketMs = Number(data.bucket_seconds ?? 3600) * 1000;
  return (
    <div class="card">
      <h2>{t.paymentsOverTime}</h2>
      <BarsChart
        id="payments-chart"
        series={[
          { label: t.payments, color: "#2856c7", values: series.map((point) => point.payments) },
          { label: t.repairs, color: "#e08a00", values: series.map((point) => point.repairs) },
        ]}
        xTicks={[ticks[0]?.label ?? "", ticks[1]?.label ?? "", ticks[2]?.label ?? ""]}
        yUnit={fill(w.perBucket, { bucket: formatDuration(bucketMs, ctx.lang) })}
        note={fill(w.timesIn, { zone: ticks[0]?.zone || ctx.timeZone })}
      />
    </div>
  );
}

export function LatencyCard({ ctx, data }: { ctx: PageContext; data: Row }) {
  const { t } = ctx;
  const w = OVERVIEW_WORDS[ctx.lang];
  const rows = Object.entries((data.latency_ms_by_path ?? {}) as Latency);
  const max = Math.max(0, ...rows.map(([, v]) => Number(v.p95)));
  const human = (ms: number) => formatDuration(Number(ms), ctx.lang);
  return (
    <div class="card" id="latency">
      <h2>{w.latencyTitle}</h2>
      {rows.length === 0 ? (
        <p class="muted">{t.none}</p>
      ) : (
        <table class="stack">
          <thead>
            <tr>
              <th>{t.path}</th>
              <th class="num">{t.count}</th>
              <th class="num">{w.median}</th>
              <th class="num">{w.p95}</th>
              <th>{fill(w.scale, { max: human(max) })}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([path, v]) => (
              <tr>
                <td data-label={t.path}>{wordFor(w, "path", path)}</td>
                <td data-label={t.count} class="num">
                  {v.count}
                </td>
                <td data-label={w.median} class="num nowrap">
                  {human(v.p50)}
                </td>
                <td data-label={w.p95} class="num nowrap">
                  {human(v.p95)}
                </td>
                <td data-label={fill(w.scale, { max: human(max) })}>
                  <PairBar
                    inner={v.p50}
                    outer={v.p95}
                    max={max}
                    label={`p50 ${human(v.p50)}, p95 ${human(v.p95)}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function WebhooksTable({ ctx, data }: { ctx: PageContext; data: Row }) {
  const { t } = ctx;
  const w = OVERVIEW_WORDS[ctx.lang];
  const webhooks = Object.entries((data.webhooks_by_provider ?? {}) as Webhooks);
  return (
    <section id="webhooks">
      <h2>{w.webhooksTitle}</h2>
      <p class="muted">{w.webhooksHelp}</p>
      {webhooks.length === 0 ? (
        <p class="muted">{t.none}</p>
      ) : (
        <table class="stack">
          <thead>
            <tr>
              <th>{t.provider}</th>
              <th class="num">{w.events}</th>
              <th class="num">{w.deliveries}</th>
              <th class="num">{w.failedAttempts}</th>
              <th class="num">{w.success}</th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map(([provider, hook]) => (
              <tr id={`webhooks-${provider}`}>
                <td data-label={t.provider}>{wordFor(w, "provider", provider)}</td>
                <td data-label={w.events} class="num">
                  {hook.received}
                </td>
                <td data-label={w.deliveries} class="num">
                  {hook.deliveries}
                </td>
                <td data-label={w.failedAttempts} class="num">
                  {hook.failed}
                </td>
                <td data-label={w.success} class="num success-rate">
                  {formatRate(hook.success_rate === null ? null : Number(hook.success_rate))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function LastRuns({ ctx, data }: { ctx: PageContext; data: Row }) {
  const { t } = ctx;
  const w = OVERVIEW_WORDS[ctx.lang];
  const runs = Object.entries((data.last_job_runs ?? {}) as Record<string, Row>);
  return (
    <section id="last-runs">
      <h2>{t.lastRuns}</h2>
      {runs.length === 0 ? (
        <p class="muted">{t.none}</p>
      ) : (
        <table class="stack">
          <thead>
            <tr>
              <th>{t.job}</th>
              <th>{t.status}</th>
              <th>{t.started}</th>
            </tr>
          </thead>
          <tbody>
            {runs.map(([job, run]) => (
              <tr>
                <td data-label={t.job}>
                  <a href="/admin/jobs">{job}</a>
                </td>
                <td data-label={t.status}>
                  <span class={`status ${String(run.status)}`}>{wordFor(w, "run", run.status)}</span>
                </td>
                <td data-label={t.started} class="when">
                  <When at={run.started_at} settings={ctx} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
