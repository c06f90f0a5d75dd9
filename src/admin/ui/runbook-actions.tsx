/**
 * The runbook page and its buttons. A dry run answers at once with its results on the page; a real
 * repair or replay (they move credits) and every sales switch show a confirmation page first, like the
 * order page's refund and repair. Everything runs the same action as the admin API, attributed.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { actionContext } from "../http.ts";
import { type RepairBatch, repairFromRefs } from "../repair-refs.ts";
import { type ReplayBatch, replayInboxEvents } from "../replay-events.ts";
import { repairRefsInput, replayInput, salesSwitchInput } from "../runbook-schemas.ts";
import { setSalesPause } from "../sales-pause.ts";
import { confirmFirst } from "./confirm-first.tsx";
import { backWith, type DashboardEnv, pageContext } from "./context.ts";
import { validForm } from "./forms.ts";
import { RunbookPage } from "./pages/runbook.tsx";

const RUNBOOK_PATH = "/admin/runbook";
const runbookBack = () => RUNBOOK_PATH;

async function renderRunbook(
  c: Context<DashboardEnv>,
  results: { repair?: RepairBatch; replay?: ReplayBatch } = {},
) {
  const deps = getDeps(c.env);
  const [pauses, packages] = await Promise.all([deps.runbook.salesPauses(), deps.checkout.listPackages()]);
  if (!pauses.ok || !packages.ok) return c.text("temporarily unavailable", 503);
  return c.html(
    <RunbookPage
      ctx={await pageContext(c)}
      pauses={pauses.value}
      packages={packages.value.map((p) => p.id)}
      {...results}
    />,
  );
}

const textFields = (values: Record<string, string | number | undefined>) =>
  Object.fromEntries(
    Object.entries(values).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]])),
  );

export const runbookPages = new Hono<DashboardEnv>()
  .get("/runbook", (c) => renderRunbook(c))
  .post("/runbook/repair", validForm(repairRefsInput, runbookBack), async (c) => {
    const { reason, refs, dryRun } = c.req.valid("form");
    const confirm = dryRun
      ? null
      : await confirmFirst(c, RUNBOOK_PATH, `repair ${refs.length} references`, {
          reason,
          refs: refs.join(" "),
          dryRun: "false",
        });
    if (confirm) return confirm;
    const repaired = await repairFromRefs(actionContext(c, reason), refs, dryRun);
    if (!repaired.ok) return backWith(c, RUNBOOK_PATH, { ok: false, message: repaired.detail });
    return renderRunbook(c, { repair: repaired.value });
  })
  .post("/runbook/replay", validForm(replayInput, runbookBack), async (c) => {
    const { reason, dryRun, ...filter } = c.req.valid("form");
    const fields = textFields({ reason, ...filter, dryRun: "false" });
    const confirm = dryRun ? null : await confirmFirst(c, RUNBOOK_PATH, "replay inbox events", fields);
    if (confirm) return confirm;
    const replayed = await replayInboxEvents(actionContext(c, reason), filter, dryRun);
    if (!replayed.ok) return backWith(c, RUNBOOK_PATH, { ok: false, message: replayed.detail });
    return renderRunbook(c, { replay: replayed.value });
  })
  .post("/sales/:switch{pause|resume}", validForm(salesSwitchInput, runbookBack), async (c) => {
    const { reason, scope } = c.req.valid("form");
    const pause = c.req.param("switch") === "pause";
    const confirm = await confirmFirst(c, RUNBOOK_PATH, `${pause ? "pause" : "resume"} sales: ${scope}`, {
      reason,
      scope,
    });
    if (confirm) return confirm;
    const result = await setSalesPause(actionContext(c, reason), scope, pause);
    return backWith(
      c,
      RUNBOOK_PATH,
      result.ok
        ? { ok: true, outcome: result.outcome }
        : { ok: false, message: `${result.error.kind}: ${result.error.detail}` },
    );
  });
