/** Incidents (with triage buttons) and jobs (recent runs, run now, replay a Stripe event). */
import type { Row } from "../../store.ts";
import { ActionForm, fmtTime, Page, type PageContext, ReasonInput, StatusBadge } from "../layout.tsx";

export function IncidentsPage({
  ctx,
  incidents,
  status,
}: {
  ctx: PageContext;
  incidents: Row[];
  status: string;
}) {
  const { t } = ctx;
  const tabs: Array<[string, string]> = [
    ["open", t.showOpen],
    ["resolved", t.showResolved],
    ["all", t.showAll],
  ];
  return (
    <Page ctx={ctx} title={t.incidents}>
      <h1>{t.incidents}</h1>
      <p>
        {tabs.map(([value, label], index) => (
          <>
            {index > 0 && " · "}
            {value === status ? (
              <strong>{label}</strong>
            ) : (
              <a href={`/admin/incidents?status=${value}`}>{label}</a>
            )}
          </>
        ))}
      </p>
      {incidents.length === 0 && <p class="muted">{t.none}</p>}
      <table id="incidents">
        <tr>
          <th>{t.severity}</th>
          <th>{t.summary}</th>
          <th>{t.seen}</th>
          <th>{t.acknowledgedBy}</th>
          <th>{t.mutedUntil}</th>
          <th>{t.actions}</th>
        </tr>
        {incidents.map((i) => (
          <tr data-key={String(i.key)}>
            <td>
              <StatusBadge value={i.severity} /> <StatusBadge value={i.status} />
            </td>
            <td>
              {String(i.summary)}
              <br />
              <code class="muted">{String(i.key)}</code>
            </td>
            <td>
              {fmtTime(i.last_seen_at)} ×{String(i.occurrences)}
            </td>
            <td class="acknowledged-by">{String(i.acknowledged_by ?? "")}</td>
            <td>{fmtTime(i.muted_until)}</td>
            <td>
              {i.status === "open" && (
                <>
                  {!i.acknowledged_by && (
                    <ActionForm ctx={ctx} action="/admin/incidents/acknowledge">
                      <input type="hidden" name="key" value={String(i.key)} />
                      <ReasonInput ctx={ctx} />
                      <button type="submit">{t.acknowledge}</button>
                    </ActionForm>
                  )}
                  <ActionForm ctx={ctx} action="/admin/incidents/mute">
                    <input type="hidden" name="key" value={String(i.key)} />
                    <ReasonInput ctx={ctx} />
                    <select name="minutes">
                      {[30, 240, 1440].map((m) => (
                        <option value={String(m)}>{`${m} ${t.minutes}`}</option>
                      ))}
                    </select>
                    <button type="submit" class="quiet">
                      {t.mute}
                    </button>
                  </ActionForm>
                  <ActionForm ctx={ctx} action="/admin/incidents/resolve">
                    <input type="hidden" name="key" value={String(i.key)} />
                    <ReasonInput ctx={ctx} />
                    <button type="submit" class="quiet">
                      {t.resolve}
                    </button>
                  </ActionForm>
                </>
              )}
            </td>
          </tr>
        ))}
      </table>
    </Page>
  );
}

export function JobsPage({ ctx, jobs, runs }: { ctx: PageContext; jobs: string[]; runs: Row[] }) {
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t.jobs}>
      <h1>{t.jobs}</h1>
      <div class="actions">
        {jobs.map((job) => (
          <ActionForm ctx={ctx} action={`/admin/jobs/${job}/run`}>
            <ReasonInput ctx={ctx} />
            <button type="submit">{`${t.runNow}: ${job}`}</button>
          </ActionForm>
        ))}
        <h2>{t.replayEvent}</h2>
        <ActionForm ctx={ctx} action="/admin/stripe/events/replay">
          <input name="event_id" required pattern="evt_[A-Za-z0-9_]+" placeholder={t.eventId} size={32} />
          <ReasonInput ctx={ctx} />
          <button type="submit">{t.replay}</button>
        </ActionForm>
      </div>
      <h2>{t.recentRuns}</h2>
      {runs.length === 0 && <p class="muted">{t.none}</p>}
      <table id="job-runs">
        <tr>
          <th>{t.job}</th>
          <th>{t.status}</th>
          <th>{t.started}</th>
          <th>{t.finished}</th>
          <th>{t.detail}</th>
        </tr>
        {runs.map((run) => (
          <tr>
            <td>{String(run.job)}</td>
            <td>
              <StatusBadge value={run.status} />
            </td>
            <td>{fmtTime(run.started_at)}</td>
            <td>{fmtTime(run.finished_at)}</td>
            <td>
              <code>{JSON.stringify(run.detail ?? {})}</code>
            </td>
          </tr>
        ))}
      </table>
    </Page>
  );
}
