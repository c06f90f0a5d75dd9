/**
 * The runbook page: the sales switch (pause / resume per package or for all), repair from provider
 * references and batch replay of the inbox, each with a dry run; a batch's results show on this page,
 * with a form that runs the same inputs for real (src/admin/ui/runbook/results.tsx).
 */
import { providerName } from "../../../incidents/text.ts";
import type { RepairBatch } from "../../repair-refs.ts";
import type { ReplayBatch } from "../../replay-events.ts";
import type { SalesPause } from "../../runbook-store.ts";
import { ALL_PACKAGES } from "../../sales-pause.ts";
import { ActionForm, Page, type PageContext, ReasonInput } from "../layout.tsx";
import { type BatchInputs, RepairResults, ReplayResults } from "../runbook/results.tsx";
import { RUNBOOK_WORDS, type RunbookWords } from "../runbook-words.ts";
import { When } from "../time.tsx";

const scopeLabel = (scope: string, w: RunbookWords) => (scope === ALL_PACKAGES ? w.allPackages : scope);

function SalesSection({
  ctx,
  w,
  pauses,
  packages,
}: {
  ctx: PageContext;
  w: RunbookWords;
  pauses: SalesPause[];
  packages: string[];
}) {
  return (
    <>
      <h2>{w.salesTitle}</h2>
      <div class="actions" id="sales">
        {pauses.length === 0 && <p class="muted">{w.salesOn}</p>}
        {pauses.length > 0 && (
          <table id="sales-paused">
            <tr>
              <th>{w.scope}</th>
              <th>{w.pausedAt}</th>
              <th>{w.pausedBy}</th>
              <th>{ctx.t.reason}</th>
              <th>{ctx.t.actions}</th>
            </tr>
            {pauses.map((pause) => (
              <tr data-scope={pause.scope}>
                <td>{scopeLabel(pause.scope, w)}</td>
                <td>
                  <When at={pause.paused_at} settings={ctx} />
                </td>
                <td>{pause.paused_by}</td>
                <td>{pause.reason}</td>
                <td>
                  <ActionForm ctx={ctx} action="/admin/sales/resume">
                    <input type="hidden" name="scope" value={pause.scope} />
                    <ReasonInput ctx={ctx} />
                    <button type="submit">{w.resumeSales}</button>
                  </ActionForm>
                </td>
              </tr>
            ))}
          </table>
        )}
        <ActionForm ctx={ctx} action="/admin/sales/pause" id="pause-form">
          <select name="scope">
            <option value={ALL_PACKAGES}>{w.allPackages}</option>
            {packages.map((id) => (
              <option value={id}>{id}</option>
            ))}
          </select>
          <ReasonInput ctx={ctx} />
          <button type="submit" class="danger">
            {w.pauseSales}
          </button>
        </ActionForm>
      </div>
    </>
  );
}

/** Prefilled from `?repair_ref=` (incident pages and the order search link here) or the last dry run. */
function RepairForm({ ctx, w, prefill }: { ctx: PageContext; w: RunbookWords; prefill: RepairPrefill }) {
  return (
    <ActionForm ctx={ctx} action="/admin/runbook/repair" id="repair-form">
      <textarea name="refs" rows={4} cols={48} required placeholder="pi_… cs_… 4200… ord_…">
        {prefill.refs}
      </textarea>
      <input
        name="reason"
        required
        minlength={3}
        maxlength={500}
        placeholder={ctx.t.reason}
        value={prefill.reason}
      />
      <button type="submit" name="dryRun" value="true" class="quiet">
        {w.dryRun}
      </button>
      <button type="submit" name="dryRun" value="false">
        {w.repairNow}
      </button>
    </ActionForm>
  );
}

function ReplayForm({ ctx, w }: { ctx: PageContext; w: RunbookWords }) {
  const { t } = ctx;
  return (
    <ActionForm ctx={ctx} action="/admin/runbook/replay" id="replay-form">
      <select name="provider" title={t.provider}>
        <option value="">{`${t.provider}: ${t.any}`}</option>
        <option value="stripe">Stripe</option>
        <option value="wechatpay">{providerName("wechatpay", ctx.lang === "zh")}</option>
      </select>
      <select name="status" title={t.status}>
        <option value="">{`${w.inboxFailed} + ${w.inboxStuck}`}</option>
        <option value="failed">{w.inboxFailed}</option>
        <option value="stuck">{w.inboxStuck}</option>
        <option value="received">{w.inboxReceived}</option>
      </select>
      <input name="type" placeholder={w.eventType} size={18} />
      <input name="from" type="date" title={t.from} />
      <input name="to" type="date" title={t.to} />
      <input name="limit" type="number" min={1} max={100} value="100" title={w.limit} />
      <ReasonInput ctx={ctx} />
      <button type="submit" name="dryRun" value="true" class="quiet">
        {w.dryRun}
      </button>
      <button type="submit" name="dryRun" value="false">
        {w.replayNow}
      </button>
    </ActionForm>
  );
}

export type RepairPrefill = { refs: string; reason: string };

export function RunbookPage(props: {
  ctx: PageContext;
  pauses: SalesPause[];
  packages: string[];
  prefill: RepairPrefill;
  repair?: { batch: RepairBatch; inputs: BatchInputs };
  replay?: { batch: ReplayBatch; inputs: BatchInputs };
}) {
  const { ctx } = props;
  const w = RUNBOOK_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={w.runbook}>
      <div class="runbook">
        <h1>{w.runbook}</h1>
        <SalesSection ctx={ctx} w={w} pauses={props.pauses} packages={props.packages} />
        <h2>{w.repairTitle}</h2>
        <div class="actions">
          <p class="muted">{w.repairHelp}</p>
          <RepairForm ctx={ctx} w={w} prefill={props.prefill} />
        </div>
        {props.repair && <RepairResults ctx={ctx} {...props.repair} />}
        <h2>{w.replayTitle}</h2>
        <div class="actions">
          <p class="muted">{w.replayHelp}</p>
          <ReplayForm ctx={ctx} w={w} />
        </div>
        {props.replay && <ReplayResults ctx={ctx} {...props.replay} />}
      </div>
    </Page>
  );
}
