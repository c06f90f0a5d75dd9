/** Jobs: recent runs, and "run this job now" (the same runner the crons use, attributed). */
import { Hono } from "hono";
import { getDeps } from "../../deps.ts";
import { runJobNow } from "../actions.ts";
import { type AdminEnv, actionContext, actionResponse, unavailable, valid } from "../http.ts";
import { jobParam, reasonOnly } from "../schemas.ts";

/** Job runs one list answer carries. */
export const JOB_RUNS_LIST_MAX = 100;

export const jobsApi = new Hono<AdminEnv>()
  .get("/", async (c) => {
    const runs = await getDeps(c.env).admin.jobRuns(JOB_RUNS_LIST_MAX);
    if (!runs.ok) return unavailable(c, runs.error.message);
    return c.json({ runs: runs.value });
  })
  .post("/:name/run", valid("param", jobParam), valid("json", reasonOnly), async (c) => {
    const ctx = actionContext(c, c.req.valid("json").reason);
    return actionResponse(c, await runJobNow(ctx, c.req.valid("param").name));
  });
