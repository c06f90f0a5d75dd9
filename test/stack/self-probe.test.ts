/**
 * The hourly reachability probe against the real worker: `wrangler dev` (workerd) serving payguard at its
 * local URL, which is also its PUBLIC_BASE_URL, with the stand-in and the sandbox (dev/local-stack.ts).
 * The cron fires through wrangler's `/__scheduled` route, so the probe goes over real HTTP to the worker
 * and its proof is checked against the deployment's own secret.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../dev/local-stack.ts";
import { CRON_HEALTH_AUDIT } from "../../src/reconcile/scheduled.ts";

const STACK_TIMEOUT_MS = 120_000;
const KEY = "callback_health:reachability";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("reachability probe against wrangler dev", () => {
  let stack: LocalStack;
  let workDir: string;
  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
    stack.standIn.query<T>(query, params);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "payguard-probe-"));
    stack = await startLocalStack({
      workerPort: await freePort(),
      jwtSecret: "probe-test-jwt-secret-0123456789abcdef",
      adminToken: "probe-admin-token-0123456789abcdef",
      envFile: join(workDir, "worker.env"),
      wranglerArgs: ["--persist-to", join(workDir, "state")],
    });
  }, STACK_TIMEOUT_MS);

  afterAll(async () => {
    if (stack) {
      const exited = new Promise((resolve) => stack.wrangler.once("exit", resolve));
      await stack.stop();
      await exited;
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it(
    "the hourly run reaches this deployment at PUBLIC_BASE_URL and resolves the open reachability incident",
    async () => {
      // Opened by an earlier run that could not reach the URL.
      await sql(
        `select payguard.open_incident($1, 'callback_url_unreachable', 'critical',
           'Callback URL not reachable: earlier run', '{}'::jsonb, now())`,
        [KEY],
      );
      const fired = await fetch(
        `${stack.workerUrl}/__scheduled?cron=${encodeURIComponent(CRON_HEALTH_AUDIT)}`,
      );
      expect(fired.status).toBe(200);
      await fired.text();
      const [run] = await sql<{ detail: { health: { reachability: string; failing: string[] } } }>(
        "select detail from payguard.job_runs where job = 'health_audit' order by id desc limit 1",
      );
      expect(run?.detail.health.reachability).toBe("ok");
      expect(run?.detail.health.failing).not.toContain("reachability");
      expect(await sql("select status from payguard.incidents where key = $1", [KEY])).toEqual([
        { status: "resolved" },
      ]);
    },
    STACK_TIMEOUT_MS,
  );
});
