/**
 * `npm run chaos -- --seed N --orders M [--faults none|webhooks|default] [--out FILE]`: the whole system
 * under seeded faults, then the invariants. Prints fault counts, each check and paid → credited time by
 * path; writes bench/results/chaos.json (or bench/results/FILE, e.g. chaos-11.json for a second seed beside
 * the figures the README quotes); on a violation also explains each violating order (printed, and
 * written whole to bench/results/chaos-violations-<seed>.json) and exits 1. The same seed replays the
 * same scenario and faults.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { machineInfo } from "../lib/machine.ts";
import { type BenchStack, portsFromEnv, startBenchStack } from "../lib/stack.ts";
import { printReport } from "./checks.ts";
import { printViolationReport } from "./explain.ts";
import { isProfileName } from "./profiles.ts";
import { CHAOS_WORKER_VARS, simulate } from "./simulate.ts";

const RUN_TIME_MAX_MS = 25 * 60_000;
const WORKER_PORT_DEFAULT = 8807;
/** How long a run stopped by RUN_TIME_MAX_MS waits for its stack to stop. */
const STOP_WAIT_MS = 15_000;
/** A file name in bench/results, nothing else. */
const OUT_FILE = /^[\w.-]+\.json$/;

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const seed = Number(arg("seed", "1"));
  const orders = Number(arg("orders", "500"));
  const faults = arg("faults", "default");
  const out = arg("out", "chaos.json");
  if (
    !Number.isInteger(seed) ||
    !Number.isInteger(orders) ||
    orders < 1 ||
    !isProfileName(faults) ||
    !OUT_FILE.test(out)
  )
    throw new Error(
      "usage: --seed <int> --orders <int ≥ 1> --faults none|webhooks|default [--out <name>.json]",
    );
  let started: BenchStack | undefined;
  setTimeout(() => {
    console.error(`chaos: stopped after ${RUN_TIME_MAX_MS / 60_000} min (RUN_TIME_MAX_MS)`);
    // wrangler, workerd and the scratch database go too, not only this process.
    const stopped = started?.stop() ?? Promise.resolve();
    const waited = new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS));
    void Promise.race([stopped, waited]).finally(() => process.exit(2));
  }, RUN_TIME_MAX_MS).unref();
  const stack = await startBenchStack({
    ...portsFromEnv(WORKER_PORT_DEFAULT),
    seed,
    label: "chaos",
    vars: CHAOS_WORKER_VARS,
  });
  started = stack;
  try {
    const result = await simulate(stack, { seed, orders, faults });
    console.log(
      `\nchaos --seed ${seed} --orders ${orders} --faults ${faults}: ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    console.log(`  phases (ms): ${JSON.stringify(result.phasesMs)}`);
    console.log(`  faults: ${JSON.stringify(result.faults)}`);
    printReport(result.report);
    const results = new URL("../results/", import.meta.url);
    await mkdir(results, { recursive: true });
    if (result.violationReport) {
      const file = new URL(`chaos-violations-${seed}.json`, results);
      await writeFile(file, `${JSON.stringify(result.violationReport, null, 2)}\n`);
      printViolationReport(result.violationReport, `bench/results/chaos-violations-${seed}.json`);
    }
    console.log(`  violations: ${result.report.violations}`);
    const postgres = stack.databaseUrl
      ? ((await stack.standIn.query<{ version: string }>("select version()"))[0]?.version ?? null)
      : null;
    const { violationReport: _explained, ...summary } = result;
    await writeFile(
      new URL(out, results),
      `${JSON.stringify({ command: `npm run chaos -- --seed ${seed} --orders ${orders} --faults ${faults}${out === "chaos.json" ? "" : ` --out ${out}`}`, machine: machineInfo(postgres), ...summary }, null, 2)}\n`,
    );
    if (result.report.violations > 0) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`chaos failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
