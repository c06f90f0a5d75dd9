/**
 * The installation doctor against the real stand-in: each way of breaking the installation opens one
 * incident whose summary names the fix, and fixing it resolves it. Breakage is done as the database owner
 * and undone in `finally`, on functions and a table only the weekly report uses, so no other suite notices.
 * (The schema not being exposed needs its own stand-in: test/sql/doctor-exposure.test.ts.)
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { runDoctor } from "../../src/ops/doctor.ts";
import { CRON_HEALTH_AUDIT } from "../../src/reconcile/scheduled.ts";
import { adminHeaders, call, serveFirstRequest, sql } from "../support/worker/harness.ts";
import { lastRun, runCron } from "../support/worker/reconcile.ts";

const incidents = (key: string) =>
  sql<{ status: string; summary: string }>(
    "select status, severity, summary from payguard.incidents where key = $1 order by id",
    [key],
  );

const RELEASE = "payguard.release_weekly_report(date)";

async function doctorNow() {
  return runDoctor(getDeps(env), Date.now());
}

describe("installation doctor", () => {
  let firstRequestRuns: Array<{ status: string }> = [];
  beforeAll(async () => {
    firstRequestRuns = await serveFirstRequest();
  });

  it("runs in the background at the first request this isolate serves", () => {
    expect(firstRequestRuns).toEqual([{ status: "ok" }]);
  });

  it("finds nothing wrong with a complete installation", async () => {
    const report = await doctorNow();
    expect(report).toEqual({ failing: [], unchecked: null });
  });

  it("service_role losing execute on a function opens one incident naming the grant; granting resolves it", async () => {
    const key = "doctor:function_not_executable:release_weekly_report";
    await sql(`revoke execute on function ${RELEASE} from service_role`);
    try {
      await runCron(CRON_HEALTH_AUDIT);
      await runCron(CRON_HEALTH_AUDIT);
      const [open] = await incidents(key);
      expect(open?.status).toBe("open");
      expect(open?.summary).toContain(
        "Fix: grant execute on function payguard.release_weekly_report(date) to service_role;",
      );
      expect(await incidents(key)).toHaveLength(1);
      expect((await lastRun("health_audit"))?.detail.doctor).toMatchObject({ failing: [key] });
    } finally {
      await sql(`grant execute on function ${RELEASE} to service_role`);
    }
    await runCron(CRON_HEALTH_AUDIT);
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("anon able to execute a function opens one incident naming the revoke; revoking resolves it", async () => {
    const key = "doctor:function_exposed:release_weekly_report";
    await sql(`grant execute on function ${RELEASE} to anon`);
    try {
      await doctorNow();
      const [open] = await incidents(key);
      expect(open?.status).toBe("open");
      expect(open?.summary).toContain(`Fix: revoke execute on function ${RELEASE} from anon;`);
    } finally {
      await sql(`revoke execute on function ${RELEASE} from anon`);
    }
    await doctorNow();
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("a function an upgrade left executable by anon (created without closing it) opens a critical incident naming it", async () => {
    // What a migration that creates a function and forgets payguard._secure_functions() leaves behind:
    // PUBLIC (so anon) may execute it, the default for every new function.
    const key = "doctor:function_exposed:set_everything_free";
    await sql("create function payguard.set_everything_free() returns int language sql as 'select 1'");
    try {
      await doctorNow();
      const [open] = await incidents(key);
      expect(open).toMatchObject({ status: "open", severity: "critical" });
      expect(open?.summary).toContain(
        "public, anon, authenticated can execute payguard.set_everything_free()",
      );
    } finally {
      await sql("drop function payguard.set_everything_free()");
    }
    await doctorNow();
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("a payguard table anon can write opens a critical incident naming the revoke; revoking resolves it", async () => {
    const key = "doctor:table_exposed:credit_balances";
    await sql("grant update on payguard.credit_balances to anon");
    try {
      await doctorNow();
      const [open] = await incidents(key);
      expect(open).toMatchObject({ status: "open", severity: "critical" });
      expect(open?.summary).toContain("Fix: revoke update on payguard.credit_balances from anon;");
    } finally {
      await sql("revoke update on payguard.credit_balances from anon");
    }
    await doctorNow();
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("row-level security turned off on a table opens one incident naming the fix; enabling it resolves it", async () => {
    const key = "doctor:rls_disabled:weekly_reports";
    await sql("alter table payguard.weekly_reports disable row level security");
    try {
      await doctorNow();
      await doctorNow();
      const rows = await incidents(key);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe("open");
      expect(rows[0]?.summary).toContain(
        "Fix: alter table payguard.weekly_reports enable row level security;",
      );
    } finally {
      await sql("alter table payguard.weekly_reports enable row level security");
    }
    await doctorNow();
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("a dropped function opens one incident naming the migrations; recreating it resolves it", async () => {
    const key = "doctor:function_missing:release_weekly_report";
    const [{ definition } = { definition: "" }] = await sql<{ definition: string }>(
      `select pg_get_functiondef('${RELEASE}'::regprocedure) as definition`,
    );
    expect(definition).toContain("release_weekly_report");
    await sql(`drop function ${RELEASE}`);
    try {
      await doctorNow();
      const [open] = await incidents(key);
      expect(open?.status).toBe("open");
      expect(open?.summary).toContain("payguard.release_weekly_report is missing");
      expect(open?.summary).toContain("Fix: apply supabase/migrations");
    } finally {
      await sql(definition);
      await sql(`revoke execute on function ${RELEASE} from public, anon, authenticated`);
      await sql(`grant execute on function ${RELEASE} to service_role`);
    }
    await doctorNow();
    expect(await incidents(key)).toEqual([expect.objectContaining({ status: "resolved" })]);
  });

  it("runs on demand from the admin API and from the console's job list, attributed", async () => {
    const response = await call("/admin/api/doctor", {
      method: "POST",
      headers: { ...adminHeaders(), "content-type": "application/json" },
      body: JSON.stringify({ reason: "checking after the migration" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "ok", detail: { failing: [], unchecked: null } });
    const [action] = await sql<{ action: string; target: string }>(
      "select action, target from payguard.admin_actions where action = 'run_doctor' order by id desc limit 1",
    );
    expect(action).toEqual({ action: "run_doctor", target: "installation" });
    expect((await lastRun("doctor"))?.status).toBe("ok");
  });
});
