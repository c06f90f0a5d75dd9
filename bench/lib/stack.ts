/**
 * The whole local system for a benchmark or chaos run: a scratch database on the Supabase-shaped Postgres
 * in DATABASE_URL (`npm run db:cluster`; else PGlite), used as its non-superuser postgres, the stand-in
 * and the sandbox with their test controls, and the worker under
 * `wrangler dev` or under Miniflare's API (`runner`, bench/lib/miniflare-worker.ts).
 * `stop()` tears everything down, including the scratch database.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, startLocalStack, workerVars } from "../../dev/local-stack.ts";
import { startSandbox } from "../../dev/sandbox/index.ts";
import { startStandIn } from "../../dev/supabase/standin.ts";
import { createScratchDatabase } from "../../test/support/node/scratch-db.ts";
import { treeCpuMs } from "./measure.ts";
import { startMiniflareWorker } from "./miniflare-worker.ts";

export type WorkerRunner = "wrangler" | "miniflare";

export interface BenchStack extends Omit<LocalStack, "wrangler"> {
  runner: WorkerRunner;
  /** The scratch database as the demoted postgres (what the stand-in runs as); null on PGlite. */
  databaseUrl: string | null;
  adminToken: string;
  control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
  /** CPU ms so far of workerd (every workerd process of the runner) and of the runner's own Node process. */
  workerCpuMs(): { workerd: number; runner: number };
}

export interface BenchStackOptions {
  workerPort: number;
  /** Unset: any free port. */
  standInPort?: number;
  sandboxPort?: number;
  seed?: number;
  label: string;
  /** An inspector port on the worker: lets bench/lib/profile.ts profile it. */
  inspectorPort?: number;
  /** Default `wrangler dev`. */
  runner?: WorkerRunner;
  /** Worker variables over the local stack's (the webhook bench's guard layout). */
  vars?: Record<string, string>;
}

/** Stand-in, sandbox and the worker under Miniflare's API, in this process (workerd is its child). */
async function startMiniflareStack(
  options: BenchStackOptions,
  databaseUrl: string | undefined,
  adminToken: string,
  scratchDir: string,
): Promise<Omit<LocalStack, "wrangler">> {
  const workerUrl = `http://127.0.0.1:${options.workerPort}`;
  const standIn = await startStandIn({
    port: options.standInPort,
    databaseUrl,
    testControl: true,
    jwtSecret: randomBytes(32).toString("hex"),
  });
  const sandbox = await startSandbox({
    port: options.sandboxPort,
    seed: options.seed,
    stripeWebhookUrl: `${workerUrl}/webhooks/stripe`,
    wechatNotifyUrl: `${workerUrl}/webhooks/wechatpay`,
  });
  try {
    const worker = await startMiniflareWorker({
      port: options.workerPort,
      vars: { ...workerVars(workerUrl, standIn, sandbox, adminToken), ...options.vars },
      scratchDir,
      inspectorPort: options.inspectorPort,
    });
    const stop = async () => {
      await worker.dispose();
      await Promise.allSettled([sandbox.close(), standIn.close()]);
    };
    return { workerUrl, standIn, sandbox, stop };
  } catch (error) {
    await Promise.allSettled([sandbox.close(), standIn.close()]);
    throw error;
  }
}

export async function startBenchStack(options: BenchStackOptions) {
  const scratch = await mkdtemp(join(tmpdir(), `payguard-${options.label}-`));
  const database = process.env.DATABASE_URL
    ? await createScratchDatabase(process.env.DATABASE_URL, `payguard_${options.label}`)
    : null;
  const adminToken = randomBytes(24).toString("hex");
  const runner = options.runner ?? "wrangler";
  let stack: Omit<LocalStack, "wrangler">;
  /** The process whose tree holds workerd: wrangler's, or this one (Miniflare starts workerd as a child). */
  let workerRootPid = process.pid;
  try {
    if (runner === "miniflare") {
      stack = await startMiniflareStack(options, database?.ownerUrl, adminToken, scratch);
    } else {
      const local = await startLocalStack({
        workerPort: options.workerPort,
        standInPort: options.standInPort,
        sandboxPort: options.sandboxPort,
        databaseUrl: database?.ownerUrl,
        standInTestControl: true,
        sandboxSeed: options.seed,
        jwtSecret: randomBytes(32).toString("hex"),
        adminToken,
        vars: options.vars,
        envFile: join(scratch, "bench.env"),
        wranglerArgs: [
          "--persist-to",
          join(scratch, "state"),
          ...(options.inspectorPort ? ["--inspector-port", String(options.inspectorPort)] : []),
        ],
      });
      stack = local;
      workerRootPid = local.wrangler.pid as number;
    }
  } catch (error) {
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${stack.sandbox.url}/_control/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as T;
    if (!response.ok)
      throw new Error(`sandbox ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  };
  const workerCpuMs = () => {
    const tree = treeCpuMs(workerRootPid);
    const workerd = tree.workerd ?? 0;
    // Under Miniflare the rest of the tree is this process, which the caller measures on its own.
    if (runner === "miniflare") return { workerd, runner: 0 };
    return { workerd, runner: Object.values(tree).reduce((a, b) => a + b, 0) - workerd };
  };
  return {
    ...stack,
    runner,
    databaseUrl: database?.ownerUrl ?? null,
    adminToken,
    control,
    workerCpuMs,
    async stop() {
      await stack.stop();
      await database?.drop();
      await rm(scratch, { recursive: true, force: true });
    },
  } satisfies BenchStack;
}

/** The ports `npm run bench` / `npm run chaos` use: PAYGUARD_*_PORT, else the worker's default, else any. */
export function portsFromEnv(workerPortDefault: number) {
  return {
    workerPort: Number(process.env.PAYGUARD_PORT) || workerPortDefault,
    standInPort: Number(process.env.PAYGUARD_STANDIN_PORT) || undefined,
    sandboxPort: Number(process.env.PAYGUARD_SANDBOX_PORT) || undefined,
  };
}
