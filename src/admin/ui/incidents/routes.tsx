/**
 * The incident pages and their triage buttons: the list (/admin/incidents), one incident
 * (/admin/incidents/<key>, the page every alert links to) and acknowledge / mute / resolve for one key or
 * a checked set. Triage asks for no typed reason: it records a fixed one (plus the optional note), and
 * covers the audit's open copy of the same fact (model.ts `auditCopiesOf`). Each runs the admin API's
 * action, attributed to the operator, then goes back to the page it came from with the outcome.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { getDeps } from "../../../deps.ts";
import { MUTE_MINUTES_MAX, type Triage, triageIncident } from "../../actions.ts";
import { actionContext } from "../../http.ts";
import { INCIDENT_KEY, INCIDENT_LIST_MAX, SEVERITIES } from "../../incident-rows.ts";
import { backWith, type DashboardEnv, langFor, pageContext } from "../context.ts";
import { validForm } from "../forms.ts";
import { problem } from "../guards.tsx";
import { IncidentsListPage, type ListFilter, listPath } from "./list.tsx";
import { auditCopiesOf, triage } from "./model.ts";
import { incidentPath } from "./next-actions.tsx";
import { IncidentPage } from "./page.tsx";
import { INCIDENT_WORDS } from "./words.ts";

/** Keys one triage form may carry (a full list page). */
export const TRIAGE_KEYS_MAX = INCIDENT_LIST_MAX;
/** A note beside the fixed reason, in characters. */
const NOTE_LENGTH_MAX = 400;

/** What triage records as its reason: no one types a reason to acknowledge. */
const FIXED_REASON: Record<Triage["kind"], string> = {
  acknowledge: "acknowledged in the console",
  mute: "muted in the console",
  resolve: "resolved in the console",
};

const blankToUndefined = (value: unknown) => (value === "" ? undefined : value);

export const listQuery = z.object({
  status: z.preprocess(blankToUndefined, z.enum(["open", "resolved", "all"]).default("open")),
  severity: z.preprocess(blankToUndefined, z.enum(SEVERITIES as [string, ...string[]]).optional()),
  kind: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z][a-z_]{0,60}$/)
      .optional(),
  ),
});

/**
 * Rows read for a list filtered by kind (the overview links to `?kind=app_hook_failed`):
 * admin_incident_list's own cap, filtered here, so the kind's rows are found among the worst 500.
 */
const KIND_SCAN_MAX = 500;

const triageForm = z.object({
  key: z.preprocess(
    (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
    z.array(INCIDENT_KEY).min(1).max(TRIAGE_KEYS_MAX),
  ),
  note: z.preprocess(blankToUndefined, z.string().trim().max(NOTE_LENGTH_MAX).optional()),
  back: z.string().max(1000).optional(),
});
const muteForm = triageForm.extend({ minutes: z.coerce.number().int().min(1).max(MUTE_MINUTES_MAX) });

const LIST_PATH = "/admin/incidents";
const listBack = () => LIST_PATH;

/** Back to the list (its filter rebuilt from known values) or to one of the triaged incidents' pages. */
function safeBack(back: string | undefined, keys: string[]): string {
  if (!back) return LIST_PATH;
  if (keys.some((key) => incidentPath(key) === back)) return back;
  const url = new URL(back, "https://console.invalid");
  if (url.pathname !== LIST_PATH) return LIST_PATH;
  const filter = listQuery.safeParse(Object.fromEntries(url.searchParams));
  return filter.success ? listPath(filter.data as ListFilter) : LIST_PATH;
}

/** The keys plus the open audit copies of them; without the list (it failed), just the keys. */
async function withAuditCopies(c: Context<DashboardEnv>, keys: string[]): Promise<string[]> {
  const open = await getDeps(c.env).admin.incidentList("open", null, INCIDENT_LIST_MAX);
  if (!open.ok) return keys;
  const copies = keys.flatMap((key) => auditCopiesOf(key, open.value).map((copy) => copy.key));
  return [...new Set([...keys, ...copies])];
}

async function runTriage(
  c: Context<DashboardEnv>,
  form: z.infer<typeof triageForm>,
  action: Triage,
): Promise<Response> {
  const w = INCIDENT_WORDS[langFor(c)];
  const reason = form.note ? `${FIXED_REASON[action.kind]}: ${form.note}` : FIXED_REASON[action.kind];
  const context = actionContext(c, reason);
  const asked = new Set(form.key);
  const failures: string[] = [];
  let done = 0;
  for (const key of await withAuditCopies(c, form.key)) {
    const result = await triageIncident(context, key, action);
    if (result.ok) done += asked.has(key) ? 1 : 0;
    // An audit copy resolved meanwhile is no failure of this action.
    else if (asked.has(key))
      failures.push(`${key}: ${result.error.kind === "not_found" ? w.notOpen : result.error.detail}`);
  }
  const back = safeBack(form.back, form.key);
  if (failures.length > 0) return backWith(c, back, { ok: false, message: failures.join("; ") });
  const outcome =
    action.kind === "acknowledge"
      ? w.outcomeAcknowledged(done)
      : action.kind === "mute"
        ? w.outcomeMuted(done)
        : w.outcomeResolved;
  return backWith(c, back, { ok: true, outcome });
}

export const incidentPages = new Hono<DashboardEnv>()
  .get("/incidents", async (c) => {
    const parsed = listQuery.safeParse(c.req.query());
    const filter = (parsed.success ? parsed.data : { status: "open" }) as ListFilter;
    const list = await getDeps(c.env).admin.incidentList(
      filter.status === "all" ? null : filter.status,
      filter.severity ?? null,
      filter.kind ? KIND_SCAN_MAX : INCIDENT_LIST_MAX,
    );
    if (!list.ok) return problem(c, 503, "unavailable");
    const rows = filter.kind
      ? list.value.filter((incident) => incident.kind === filter.kind).slice(0, INCIDENT_LIST_MAX)
      : list.value;
    return c.html(<IncidentsListPage ctx={await pageContext(c)} groups={triage(rows)} filter={filter} />);
  })
  .get("/incidents/:key", async (c) => {
    const key = INCIDENT_KEY.safeParse(c.req.param("key"));
    if (!key.success) return c.notFound();
    const found = await getDeps(c.env).admin.incident(key.data);
    if (!found.ok) return problem(c, 503, "unavailable");
    if (!found.value) return c.notFound();
    return c.html(<IncidentPage ctx={await pageContext(c)} data={found.value} />);
  })
  .post("/incidents/acknowledge", validForm(triageForm, listBack), (c) =>
    runTriage(c, c.req.valid("form"), { kind: "acknowledge" }),
  )
  .post("/incidents/mute", validForm(muteForm, listBack), (c) => {
    const form = c.req.valid("form");
    return runTriage(c, form, { kind: "mute", minutes: form.minutes });
  })
  .post("/incidents/resolve", validForm(triageForm, listBack), (c) =>
    runTriage(c, c.req.valid("form"), { kind: "resolve" }),
  );
