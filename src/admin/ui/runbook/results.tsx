/**
 * A runbook batch's results (repair from references, inbox replay): the summary, one row per reference
 * or event with its outcome in plain words, and after a dry run a "run it for real" form carrying the
 * very inputs of that dry run (references or filter, and the reason), so the real run is the one that
 * was checked. It leads to the confirmation page like any real run.
 */
import type { RefReport, RepairBatch } from "../../repair-refs.ts";
import type { ReplayBatch } from "../../replay-events.ts";
import { ActionForm, type PageContext } from "../layout.tsx";
import { outcomeWord, RUNBOOK_WORDS, type RunbookWords } from "../runbook-words.ts";

/** The inputs of a batch, as the form sent them: replayed into the "run it for real" form. */
export type BatchInputs = Record<string, string>;

const Outcome = ({ ctx, outcome }: { ctx: PageContext; outcome: string }) => (
  <span class={`status ${outcome}`}>{outcomeWord(ctx.lang, outcome)}</span>
);

function Summary(props: {
  ctx: PageContext;
  w: RunbookWords;
  batch: { dryRun: boolean; summary: Record<string, number> };
}) {
  const { ctx, w, batch } = props;
  return (
    <p class="summary">
      {batch.dryRun && <strong>{`${w.dryRunNote} `}</strong>}
      {Object.entries(batch.summary).map(([outcome, n]) => (
        <span>
          <Outcome ctx={ctx} outcome={outcome} /> {`×${n} `}
        </span>
      ))}
    </p>
  );
}

/** After a dry run: the same inputs, sent as the real run (which asks for a confirmation first). */
function ForReal(props: {
  ctx: PageContext;
  w: RunbookWords;
  action: string;
  id: string;
  inputs: BatchInputs;
}) {
  const { ctx, w, inputs } = props;
  const { reason = "", ...rest } = inputs;
  return (
    <div class="actions">
      <p class="muted">{w.runForRealHelp}</p>
      <ActionForm ctx={ctx} action={props.action} id={props.id}>
        {Object.entries(rest).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="dryRun" value="false" />
        <input
          name="reason"
          required
          minlength={3}
          maxlength={500}
          value={reason}
          placeholder={ctx.t.reason}
        />
        <button type="submit" class="danger">
          {w.runForReal}
        </button>
      </ActionForm>
    </div>
  );
}

export function RepairResults(props: { ctx: PageContext; batch: RepairBatch; inputs?: BatchInputs }) {
  const { ctx, batch } = props;
  const w = RUNBOOK_WORDS[ctx.lang];
  const { t } = ctx;
  return (
    <>
      <h2>{w.results}</h2>
      <Summary ctx={ctx} w={w} batch={batch} />
      <table id="repair-results" class="stack">
        <tr>
          <th>{w.ref}</th>
          <th>{t.provider}</th>
          <th>{w.outcome}</th>
          <th>{t.id}</th>
          <th class="num">{t.credits}</th>
          <th>{t.detail}</th>
        </tr>
        {batch.results.map((r: RefReport) => (
          <tr data-ref={r.ref}>
            <td data-label={w.ref}>
              <code>{r.ref}</code>
            </td>
            <td data-label={t.provider}>{r.provider ?? ""}</td>
            <td data-label={w.outcome} class="outcome">
              <Outcome ctx={ctx} outcome={r.outcome} />
            </td>
            <td data-label={t.id}>
              {r.orderId ? <a href={`/admin/orders/${r.orderId}`}>{r.orderId}</a> : ""}
            </td>
            <td data-label={t.credits} class="num">
              {r.credits ?? ""}
            </td>
            <td data-label={t.detail}>{r.detail ?? ""}</td>
          </tr>
        ))}
      </table>
      {batch.dryRun && props.inputs && (
        <ForReal ctx={ctx} w={w} action="/admin/runbook/repair" id="repair-for-real" inputs={props.inputs} />
      )}
    </>
  );
}

export function ReplayResults(props: { ctx: PageContext; batch: ReplayBatch; inputs?: BatchInputs }) {
  const { ctx, batch } = props;
  const w = RUNBOOK_WORDS[ctx.lang];
  const { t } = ctx;
  return (
    <>
      <h2>{w.results}</h2>
      <Summary ctx={ctx} w={w} batch={batch} />
      <table id="replay-results" class="stack">
        <tr>
          <th>{w.event}</th>
          <th>{t.provider}</th>
          <th>{w.eventType}</th>
          <th>{t.id}</th>
          <th>{w.outcome}</th>
        </tr>
        {batch.results.map((r) => (
          <tr>
            <td data-label={w.event}>
              <code>{r.eventId}</code>
            </td>
            <td data-label={t.provider}>{r.provider}</td>
            <td data-label={w.eventType}>{r.eventType}</td>
            <td data-label={t.id}>
              {r.orderId ? <a href={`/admin/orders/${r.orderId}`}>{r.orderId}</a> : ""}
            </td>
            <td data-label={w.outcome} class="outcome">
              <Outcome ctx={ctx} outcome={r.outcome} /> {r.detail ?? ""}
            </td>
          </tr>
        ))}
      </table>
      {batch.dryRun && props.inputs && (
        <ForReal ctx={ctx} w={w} action="/admin/runbook/replay" id="replay-for-real" inputs={props.inputs} />
      )}
    </>
  );
}
