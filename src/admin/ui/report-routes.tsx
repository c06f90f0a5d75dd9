/**
 * The console's report page (GET /admin/report?week=YYYY-MM-DD, a local Monday; default the last full week)
 * with the doctor panel, and the panel's button (POST /admin/doctor/run), the same action as the admin API.
 */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { DOCTOR_PREFIX } from "../../ops/doctor.ts";
import { lastFullWeek } from "../../ops/weekly-report.ts";
import { INCIDENTS_LIST_MAX } from "../api/incidents.ts";
import { reportQuery, reportWeek, runDoctorNow } from "../api/ops.ts";
import { actionContext } from "../http.ts";
import { reasonOnly } from "../schemas.ts";
import { backWith, type DashboardEnv, pageContext } from "./context.ts";
import { validForm } from "./forms.ts";
import { problem } from "./guards.tsx";
import { ReportPage } from "./pages/report.tsx";

const DAY_MS = 86_400_000;
const reportBack = () => "/admin/report";

export const reportPages = new Hono<DashboardEnv>()
  .get("/report", async (c) => {
    const deps = getDeps(c.env);
    const timeZone = deps.config.ops.reportTimeZone;
    const nowMs = Date.now();
    const week = reportWeek(reportQuery.safeParse(c.req.query()).data?.week, timeZone, nowMs);
    if (!week) return c.notFound();
    const [figures, open] = await Promise.all([
      deps.ops.weeklyReport(week.fromMs, week.toMs),
      deps.admin.incidents("open", INCIDENTS_LIST_MAX),
    ]);
    if (!figures.ok || !open.ok) return problem(c, 503, "unavailable");
    const latest = lastFullWeek(nowMs, timeZone).weekStart;
    const view = {
      weekStart: week.weekStart,
      previousWeek: lastFullWeek(week.fromMs + DAY_MS, timeZone).weekStart,
      nextWeek: week.weekStart < latest ? lastFullWeek(week.toMs + 8 * DAY_MS, timeZone).weekStart : null,
      timeZone,
      figures: figures.value,
    };
    const problems = open.value.filter((incident) => String(incident.key).startsWith(DOCTOR_PREFIX));
    return c.html(<ReportPage ctx={await pageContext(c)} view={view} problems={problems} />);
  })
  .post("/doctor/run", validForm(reasonOnly, reportBack), async (c) => {
    const result = await runDoctorNow(actionContext(c, c.req.valid("form").reason));
    return backWith(
      c,
      reportBack(),
      result.ok
        ? { ok: true, outcome: result.outcome }
        : { ok: false, message: `${result.error.kind}: ${result.error.detail}` },
    );
  });
