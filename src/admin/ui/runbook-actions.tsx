/**
 * The runbook page and its buttons. A dry run answers at once with its results on the page and a form
 * that runs the very same inputs for real; a real repair or replay (they move credits) and every sales
 * switch show a confirmation page first, like the order page's money actions. `?repair_ref=` prefills
 * the repair form (incident pages and the order search link here). Everything runs the same action as
 * the admin API, attributed.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { actionContext } from "../http.ts";
import { refKind } from "../provider-refs.ts";
import { REPAIR_REFS_MAX, type RepairBatch, repairFromRefs } from "../repair-refs.ts";
import { type ReplayBatch, replayInboxEvents } from "../replay-events.ts";
import { repairRefsInput, replayInput, salesSwitchInput } from "../runbook-schemas.ts";
import { setSalesPause } from "../sales-pause.ts";
import { confirmFirst, refusedPage } from "./confirm-first.tsx";
import { backWith, type DashboardEnv, langFor, pageContext } from "./context.ts";
import { validForm } from "./forms.ts";
import { explainFailure } from "./orders/explain-failure.ts";
import { fill, MONEY_WORDS } from "./orders/money-words.ts";
import { type RepairPrefill, RunbookPage } from "./pages/runbook.tsx";
import type { BatchInputs } from "./runbook/results.tsx";
import { RUNBOOK_WORDS } from "./runbook-words.ts";

const RUNBOOK_PATH = "/admin/runbook";
const runbookBack = () => RUNBOOK_PATH;

type Shown = {
  prefill?: RepairPrefill;
  repair?: { batch: RepairBatch; inputs: BatchInputs };
  replay?: { batch: ReplayBatch; inputs: BatchInputs };
};

async function renderRunbook(c: Context<DashboardEnv>, shown: Shown = {}) {
  const deps = getDeps(c.env);
  const [pauses, packages] = await Promise.all([deps.runbook.salesPauses(), deps.checkout.listPackages()]);
  if (!pauses.ok || !packages.ok)
    return refusedPage(c, RUNBOOK_PATH, MONEY_WORDS[langFor(c)].unavailable, 503);
  return c.html(
    <RunbookPage
      ctx={await pageContext(c)}
      pauses={pauses.value}
      packages={packages.value.map((p) => p.id)}
      prefill={shown.prefill ?? { refs: "", reason: "" }}
      repair={shown.repair}
      replay={shown.replay}
    />,
  );
}

/** The references of `?repair_ref=` that are references at all (others are dropped, never echoed). */
const prefilledRefs = (query: string | undefined) =>
  (query ?? "")
    .split(/[\s,]+/)
    .filter((ref) => refKind(ref) !== null)
    .slice(0, REPAIR_REFS_MAX)
    .join("\n");

const textFields = (values: Record<string, string | number | undefined>) =>
  Object.fromEntries(
    Object.entries(values).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]])),
  );

const failedPage = (c: Context<DashboardEnv>, detail: string) =>
  refusedPage(c, RUNBOOK_PATH, explainFailure({ kind: "unavailable", detail }, MONEY_WORDS[langFor(c)]), 503);

export const runbookPages = new Hono<DashboardEnv>()
  .get("/runbook", (c) =>
    renderRunbook(c, { prefill: { refs: prefilledRefs(c.req.query("repair_ref")), reason: "" } }),
  )
  .post("/runbook/repair", validForm(repairRefsInput, runbookBack), async (c) => {
    const { reason, refs, dryRun } = c.req.valid("form");
    const inputs = { reason, refs: refs.join(" ") };
    const w = RUNBOOK_WORDS[langFor(c)];
    const confirm = dryRun
      ? null
      : await confirmFirst(c, RUNBOOK_PATH, fill(w.repairCount, { count: refs.length }), {
          ...inputs,
          dryRun: "false",
        });
    if (confirm) return confirm;
    const repaired = await repairFromRefs(actionContext(c, reason), refs, dryRun);
    if (!repaired.ok) return failedPage(c, repaired.detail);
    return renderRunbook(c, {
      prefill: { refs: refs.join("\n"), reason },
      repair: { batch: repaired.value, inputs },
    });
  })
  .post("/runbook/replay", validForm(replayInput, runbookBack), async (c) => {
    const { reason, dryRun, ...filter } = c.req.valid("form");
    const inputs = textFields({ reason, ...filter });
    const w = RUNBOOK_WORDS[langFor(c)];
    const described = Object.entries(textFields(filter))
      .map(([name, value]) => `${name}=${value}`)
      .join(", ");
    const summary = fill(w.replayLine, { filter: described || w.anyFilter });
    const confirm = dryRun
      ? null
      : await confirmFirst(c, RUNBOOK_PATH, summary, { ...inputs, dryRun: "false" });
    if (confirm) return confirm;
    const replayed = await replayInboxEvents(actionContext(c, reason), filter, dryRun);
    if (!replayed.ok) return failedPage(c, replayed.detail);
    return renderRunbook(c, { replay: { batch: replayed.value, inputs } });
  })
  .post("/sales/:switch{pause|resume}", validForm(salesSwitchInput, runbookBack), async (c) => {
    const { reason, scope } = c.req.valid("form");
    const pause = c.req.param("switch") === "pause";
    const w = RUNBOOK_WORDS[langFor(c)];
    const what = `${pause ? w.pauseSales : w.resumeSales}: ${scope === "*" ? w.allPackages : scope}`;
    const confirm = await confirmFirst(c, RUNBOOK_PATH, what, { reason, scope });
    if (confirm) return confirm;
    const result = await setSalesPause(actionContext(c, reason), scope, pause);
    if (!result.ok) {
      return refusedPage(c, RUNBOOK_PATH, explainFailure(result.error, MONEY_WORDS[langFor(c)]), 409);
    }
    return backWith(c, RUNBOOK_PATH, { ok: true, outcome: result.outcome });
  });
