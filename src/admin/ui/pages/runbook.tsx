/**
 * The runbook page: the sales switch (pause / resume per package or for all), repair from provider
 * references and batch replay of the inbox, each with a dry run; a batch's results show on this page.
 */
import type { RefReport, RepairBatch } from "../../repair-refs.ts";
import type { ReplayBatch } from "../../replay-events.ts";
import type { SalesPause } from "../../runbook-store.ts";
import { ALL_PACKAGES } from "../../sales-pause.ts";
import { ActionForm, fmtTime, Page, type PageContext, ReasonInput, StatusBadge } from "../layout.tsx";
import { RUNBOOK_WORDS, type RunbookWords } from "../runbook-words.ts";

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
                <td>{fmtTime(pause.paused_at)}</td>
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

function Summary({
  w,
  batch,
}: {
  w: RunbookWords;
  batch: { dryRun: boolean; summary: Record<string, number> };
}) {
  return (
    <p class="summary">
      {batch.dryRun && <strong>{`${w.dryRunNote} `}</strong>}
      {Object.entries(batch.summary).map(([outcome, n]) => (
        <span>
          <StatusBadge value={outcome} /> {`×${n} `}
        </span>
      ))}
    </p>
  );
}

function RepairResults({ ctx, w, batch }: { ctx: PageContext; w: RunbookWords; batch: RepairBatch }) {
  return (
    <>
      <h2>{w.results}</h2>
      <Summary w={w} batch={batch} />
      <table id="repair-results">
        <tr>
          <th>{w.ref}</th>
          <th>{ctx.t.provider}</th>
          <th>{w.outcome}</th>
          <th>{ctx.t.id}</th>
          <th class="num">{ctx.t.credits}</th>
          <th>{ctx.t.detail}</th>
        </tr>
        {batch.results.map((r: RefReport) => (
          <tr data-ref={r.ref}>
            <td>
              <code>{r.ref}</code>
            </td>
            <td>{r.provider ?? ""}</td>
            <td class="outcome">
              <StatusBadge value={r.outcome} />
            </td>
            <td>{r.orderId ? <a href={`/admin/orders/${r.orderId}`}>{r.orderId}</a> : ""}</td>
            <td class="num">{r.credits ?? ""}</td>
            <td>{r.detail ?? ""}</td>
          </tr>
        ))}
      </table>
    </>
  );
}

function ReplayResults({ ctx, w, batch }: { ctx: PageContext; w: RunbookWords; batch: ReplayBatch }) {
  return (
    <>
      <h2>{w.results}</h2>
      <Summary w={w} batch={batch} />
      <table id="replay-results">
        <tr>
          <th>{w.event}</th>
          <th>{ctx.t.provider}</th>
          <th>{w.eventType}</th>
          <th>{ctx.t.id}</th>
          <th>{w.outcome}</th>
        </tr>
        {batch.results.map((r) => (
          <tr>
            <td>
              <code>{r.eventId}</code>
            </td>
            <td>{r.provider}</td>
            <td>{r.eventType}</td>
            <td>{r.orderId ? <a href={`/admin/orders/${r.orderId}`}>{r.orderId}</a> : ""}</td>
            <td class="outcome">
              <StatusBadge value={r.outcome} /> {r.detail ?? ""}
            </td>
          </tr>
        ))}
      </table>
    </>
  );
}

function RepairForm({ ctx, w }: { ctx: PageContext; w: RunbookWords }) {
  return (
    <ActionForm ctx={ctx} action="/admin/runbook/repair" id="repair-form">
      <textarea name="refs" rows={4} cols={48} required placeholder="pi_… cs_… 4200… ord_…" />
      <ReasonInput ctx={ctx} />
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
        <option value="stripe">stripe</option>
        <option value="wechatpay">wechatpay</option>
      </select>
      <select name="status" title={t.status}>
        <option value="">failed + stuck</option>
        <option value="failed">failed</option>
        <option value="stuck">stuck</option>
        <option value="received">received</option>
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

export function RunbookPage(props: {
  ctx: PageContext;
  pauses: SalesPause[];
  packages: string[];
  repair?: RepairBatch;
  replay?: ReplayBatch;
}) {
  const { ctx } = props;
  const w = RUNBOOK_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={w.runbook}>
      <h1>{w.runbook}</h1>
      <SalesSection ctx={ctx} w={w} pauses={props.pauses} packages={props.packages} />
      <h2>{w.repairTitle}</h2>
      <div class="actions">
        <p class="muted">{w.repairHelp}</p>
        <RepairForm ctx={ctx} w={w} />
      </div>
      {props.repair && <RepairResults ctx={ctx} w={w} batch={props.repair} />}
      <h2>{w.replayTitle}</h2>
      <div class="actions">
        <p class="muted">{w.replayHelp}</p>
        <ReplayForm ctx={ctx} w={w} />
      </div>
      {props.replay && <ReplayResults ctx={ctx} w={w} batch={props.replay} />}
    </Page>
  );
}
