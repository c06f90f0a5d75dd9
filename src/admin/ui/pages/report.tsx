/** The weekly report page (the figures the Monday message carries, for any week) and the doctor panel. */
import { incidentTitle } from "../../../incidents/catalogue.ts";
import type { Row } from "../../store.ts";
import { ActionForm, fmtMoney, Page, type PageContext, ReasonInput, StatusBadge } from "../layout.tsx";
import { When } from "../time.tsx";

const rows = (value: unknown): Row[] => (Array.isArray(value) ? (value as Row[]) : []);
const obj = (value: unknown): Row => (value && typeof value === "object" ? (value as Row) : {});
const seconds = (ms: unknown) => `${(Number(ms) / 1000).toFixed(1)} s`;

export interface ReportView {
  weekStart: string;
  previousWeek: string;
  nextWeek: string | null;
  timeZone: string;
  figures: Row;
}

function DoctorPanel({ ctx, problems }: { ctx: PageContext; problems: Row[] }) {
  const { t } = ctx;
  return (
    <section id="doctor">
      <h2>{t.doctor}</h2>
      {problems.length === 0 ? (
        <p class="muted">{t.doctorHealthy}</p>
      ) : (
        <table>
          <tr>
            <th>{t.severity}</th>
            <th>{t.summary}</th>
            <th>{t.seen}</th>
          </tr>
          {problems.map((problem) => (
            <tr data-key={String(problem.key)}>
              <td>
                <StatusBadge value={problem.severity} />
              </td>
              <td>
                {incidentTitle(
                  String(problem.kind),
                  (problem.detail ?? {}) as Record<string, unknown>,
                  String(problem.summary),
                  ctx.lang,
                )}
              </td>
              <td>
                <When at={problem.last_seen_at} settings={ctx} />
              </td>
            </tr>
          ))}
        </table>
      )}
      <div class="actions">
        <ActionForm ctx={ctx} action="/admin/doctor/run" id="run-doctor">
          <ReasonInput ctx={ctx} />
          <button type="submit">{t.runDoctor}</button>
        </ActionForm>
      </div>
    </section>
  );
}

export function ReportPage({ ctx, view, problems }: { ctx: PageContext; view: ReportView; problems: Row[] }) {
  const { t } = ctx;
  const { figures } = view;
  const credits = obj(figures.credits);
  const incidents = obj(figures.incidents);
  const stillOpen = obj(figures.still_open);
  return (
    <Page ctx={ctx} title={t.weeklyReport}>
      <h1>
        {t.weeklyReport}: {t.weekOf} {view.weekStart}{" "}
        <span class="muted">
          ({t.timeZone} {view.timeZone})
        </span>
      </h1>
      <p>
        <a href={`/admin/report?week=${view.previousWeek}`}>{t.previous}</a>
        {view.nextWeek && (
          <>
            {" · "}
            <a href={`/admin/report?week=${view.nextWeek}`}>{t.next}</a>
          </>
        )}
      </p>
      <table id="report-summary">
        <tr>
          <th>{t.ordersCreated}</th>
          <td>{String(figures.orders_created ?? 0)}</td>
        </tr>
        <tr>
          <th>{t.credits}</th>
          <td>
            {t.granted} {String(credits.granted ?? 0)} · {t.clawedBack} {String(credits.clawed_back ?? 0)} ·{" "}
            {t.adjusted} {String(credits.adjusted ?? 0)}
          </td>
        </tr>
        <tr>
          <th>{t.incidents}</th>
          <td>
            {t.incidentsOpened} {String(incidents.opened ?? 0)} · {t.incidentsResolved}{" "}
            {String(incidents.resolved ?? 0)}
          </td>
        </tr>
      </table>
      <h2>{t.paymentsByCurrency}</h2>
      <table id="report-payments">
        <tr>
          <th>{t.currency}</th>
          <th>{t.count}</th>
          <th>{t.amount}</th>
        </tr>
        {rows(figures.payments).map((p) => (
          <tr>
            <td>{String(p.currency)}</td>
            <td>{String(p.count)}</td>
            <td>{fmtMoney(p.amount_minor, p.currency)}</td>
          </tr>
        ))}
      </table>
      <h2>{t.latency}</h2>
      <table id="report-latency">
        <tr>
          <th>{t.path}</th>
          <th>{t.count}</th>
          <th>p50</th>
          <th>p95</th>
        </tr>
        {rows(figures.latency).map((l) => (
          <tr>
            <td>{String(l.path)}</td>
            <td>{String(l.count)}</td>
            <td>{seconds(l.p50_ms)}</td>
            <td>{seconds(l.p95_ms)}</td>
          </tr>
        ))}
      </table>
      <h2>{t.repairedHow}</h2>
      <table id="report-repaired">
        <tr>
          <th>{t.kind}</th>
          <th>{t.path}</th>
          <th>{t.count}</th>
        </tr>
        {rows(figures.repaired).map((r) => (
          <tr>
            <td>{String(r.kind)}</td>
            <td>{String(r.path)}</td>
            <td>{String(r.count)}</td>
          </tr>
        ))}
      </table>
      <h2>
        {t.stillOpen}: {String(stillOpen.count ?? 0)}
      </h2>
      <table id="report-open">
        {rows(stillOpen.newest).map((i) => (
          <tr>
            <td>
              <StatusBadge value={i.severity} />
            </td>
            <td>
              {/* The report is a snapshot: its summary as stored then; the incident page has it in words. */}
              <a href={`/admin/incidents/${encodeURIComponent(String(i.key))}`}>
                <code>{String(i.key)}</code>
              </a>
              <br />
              <span class="mono muted">{String(i.summary)}</span>
            </td>
            <td>
              <When at={i.opened_at} settings={ctx} />
            </td>
          </tr>
        ))}
      </table>
      <DoctorPanel ctx={ctx} problems={problems} />
    </Page>
  );
}
