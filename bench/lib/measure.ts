/**
 * The measuring tools the benchmarks share: a fixed-concurrency runner that records each call's latency,
 * percentiles, and CPU time of whole process trees read from /proc (Linux), so a run can say which process
 * (worker, stand-in, Postgres) spent the time.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface RunFigures {
  count: number;
  wallMs: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

/** Runs `work` over `items` with exactly `concurrency` calls in flight (a pool, not batches). */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<RunFigures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      const t0 = performance.now();
      await work(item);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const wallMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    count: items.length,
    wallMs,
    perSecond: (items.length / wallMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
  };
}

const CLOCK_TICKS_PER_S = 100;

function procStat(pid: number): { ppid: number; cpuMs: number; name: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    return { ppid: Number(fields[1]), cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S, name };
  } catch {
    return null;
  }
}

/** CPU ms used so far by `root` and every descendant still alive, per process name (wrangler's node, workerd). */
export function treeCpuMs(root: number): Record<string, number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const byName: Record<string, number> = {};
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop() as number;
    const stat = procStat(pid);
    if (stat) byName[stat.name] = (byName[stat.name] ?? 0) + stat.cpuMs;
    stack.push(...(children.get(pid) ?? []));
  }
  return byName;
}

/** CPU ms used so far by the given processes (e.g. the Postgres backends serving one database). */
export function pidsCpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (procStat(pid)?.cpuMs ?? 0), 0);
}

export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
