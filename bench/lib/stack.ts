/**
 * The whole local system for a benchmark or chaos run: a scratch database on the Postgres in
 * DATABASE_URL (else PGlite), the stand-in and the sandbox with their test controls, and `wrangler dev`.
 * `stop()` tears everything down, including the scratch database.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../../dev/local-stack.ts";
import { createScratchDatabase } from "../../test/support/node/scratch-db.ts";

export interface BenchStack extends LocalStack {
  databaseUrl: string | null;
  adminToken: string;
  control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
}

export interface BenchStackOptions {
  workerPort: number;
  /** Unset: any free port. */
  standInPort?: number;
  sandboxPort?: number;
  seed?: number;
  label: string;
  /** `wrangler dev --inspector-port`: lets bench/lib/profile.ts profile the worker. */
  inspectorPort?: number;
}

export async function startBenchStack(options: BenchStackOptions) {
  const scratch = await mkdtemp(join(tmpdir(), `payguard-${options.label}-`));
  const database = process.env.DATABASE_URL
    ? await createScratchDatabase(process.env.DATABASE_URL, `payguard_${options.label}`)
    : null;
  const adminToken = randomBytes(24).toString("hex");
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      workerPort: options.workerPort,
      standInPort: options.standInPort,
      sandboxPort: options.sandboxPort,
      databaseUrl: database?.url,
      standInTestControl: true,
      sandboxSeed: options.seed,
      jwtSecret: randomBytes(32).toString("hex"),
      adminToken,
      envFile: join(scratch, "bench.env"),
      wranglerArgs: [
        "--persist-to",
        join(scratch, "state"),
        ...(options.inspectorPort ? ["--inspector-port", String(options.inspectorPort)] : []),
      ],
    });
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
  return {
    ...stack,
    databaseUrl: database?.url ?? null,
    adminToken,
    control,
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
