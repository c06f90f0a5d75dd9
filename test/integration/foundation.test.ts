import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient } from "@supabase/supabase-js";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { CRON_DAILY_BILL, CRON_HEALTH_AUDIT, CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { VERSION } from "../../src/version.ts";
import { call, sql } from "../support/worker/harness.ts";

describe("worker foundation", () => {
  it("answers /health with ok and the version", async () => {
    const response = await call("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, version: VERSION });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await call("/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not_found", message: "not found" });
  });

  it("fails fast with the name of each missing variable", async () => {
    const broken = { ...env, SUPABASE_SECRET_KEY: "", PUBLIC_BASE_URL: "" };
    const response = await worker.fetch(
      new Request("https://payguard.test/health"),
      broken,
      createExecutionContext(),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: "misconfigured",
      problems: ["PUBLIC_BASE_URL is missing", "SUPABASE_SECRET_KEY is missing"],
    });
  });

  it("reaches the stand-in with supabase-js from inside workerd", async () => {
    const client = createClient(env.SUPABASE_URL, env.SUPABASE_SECRET_KEY, {
      auth: { persistSession: false },
      db: { schema: "payguard" },
    });
    const { data, error, status } = await client.rpc("get_order", { p_order_id: "ord_does_not_exist" });
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toBeNull();
  });

  it.each([
    [CRON_RECONCILE, "reconcile"],
    [CRON_HEALTH_AUDIT, "health_audit"],
    [CRON_DAILY_BILL, "wechat_bill"],
  ])("routes cron %s to the %s job and records the run", async (cron, job) => {
    const before = await sql<{ n: number }>(
      "select count(*)::int as n from payguard.job_runs where job = $1",
      [job],
    );
    const controller = createScheduledController({ cron, scheduledTime: Date.now() });
    await worker.scheduled(controller, env);
    const after = await sql<{ n: number }>(
      "select count(*)::int as n from payguard.job_runs where job = $1",
      [job],
    );
    expect(after[0]?.n).toBe((before[0]?.n ?? 0) + 1);
  });
});
