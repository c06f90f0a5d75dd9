/**
 * The worker under Miniflare's API, for benchmarks: the bundle `wrangler deploy --dry-run` builds, the
 * bindings, Durable Objects and compatibility settings wrangler.toml declares (wrangler's
 * `unstable_getMiniflareWorkerOptions`), and requests straight into workerd. `wrangler dev` puts a proxy
 * worker and its Node process in front of every request, which production does not have; this runner
 * measures payguard's worker without them. An inspector port lets bench/lib/profile.ts attach.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const run = promisify(execFile);

export interface MiniflareWorker {
  url: string;
  dispose(): Promise<void>;
}

export async function startMiniflareWorker(options: {
  port: number;
  vars: Record<string, string>;
  scratchDir: string;
  inspectorPort?: number;
}): Promise<MiniflareWorker> {
  const bundleDir = join(options.scratchDir, "bundle");
  await run("wrangler", ["deploy", "--dry-run", "--outdir", bundleDir], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  // The bundle is one ES module, so wrangler's module rules (for unbundled sources) do not apply.
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml")
    .workerOptions as Record<string, unknown> & { bindings?: Record<string, unknown> };
  const v4 = {
    ...workerOptions,
    host: "127.0.0.1",
    port: options.port,
    inspectorPort: options.inspectorPort,
    modules: true,
    scriptPath: join(bundleDir, "index.js"),
    modulesRoot: bundleDir,
    bindings: { ...workerOptions.bindings, ...options.vars },
    durableObjectsPersist: join(options.scratchDir, "durable-objects"),
  };
  const mf = new Miniflare(convertV4MiniflareOptions(v4 as Parameters<typeof convertV4MiniflareOptions>[0]));
  await mf.ready;
  return { url: `http://127.0.0.1:${options.port}`, dispose: () => mf.dispose() };
}
