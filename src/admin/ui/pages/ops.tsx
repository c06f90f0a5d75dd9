/** Jobs: recent runs, run now, replay a Stripe event. (The incident pages are src/admin/ui/incidents/.) */
import type { Row } from "../../store.ts";
import { ActionForm, Page, type PageContext, ReasonInput, StatusBadge } from "../layout.tsx";
import { When } from "../time.tsx";

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
      <table id="job-runs" class="stack">
        <tr>
          <th>{t.job}</th>
          <th>{t.status}</th>
          <th>{t.started}</th>
          <th>{t.finished}</th>
          <th>{t.detail}</th>
        </tr>
        {runs.map((run) => (
          <tr>
            <td data-label={t.job}>{String(run.job)}</td>
            <td data-label={t.status}>
              <StatusBadge value={run.status} />
            </td>
            <td data-label={t.started}>
              <When at={run.started_at} settings={ctx} />
            </td>
            <td data-label={t.finished}>
              <When at={run.finished_at} settings={ctx} />
            </td>
            <td data-label={t.detail}>
              <details>
                <summary>JSON</summary>
                <code>{JSON.stringify(run.detail ?? {})}</code>
              </details>
            </td>
          </tr>
        ))}
      </table>
    </Page>
  );
}
