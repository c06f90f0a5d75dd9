/** What the figures were measured on, written next to them so a reader can compare like with like. */
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";

const versionOf = (pkg: string): string => {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
};

export function machineInfo(postgres: string | null) {
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage1m: loadavg()[0],
    node: process.version,
    workerd: versionOf("workerd"),
    wrangler: versionOf("wrangler"),
    database: postgres ?? "PGlite (in process, one session)",
  };
}
