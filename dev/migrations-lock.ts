/**
 * Migrations are forward-only once released: `supabase/migrations.lock` lists every released migration
 * with its sha256, in the format `sha256sum` writes (run inside supabase/migrations, `sha256sum -c
 * ../migrations.lock` checks it). `npm test` fails when a listed file changed or disappeared, or when a
 * migration is not listed yet; `npm run db:lock` lists new migrations (never rewrites a listed one).
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MIGRATIONS_DIR, sha256Hex } from "./migrate.ts";

export const LOCK_FILE = new URL("../supabase/migrations.lock", import.meta.url).pathname;

export interface LockProblem {
  file: string;
  problem: "changed" | "missing" | "unlisted";
}

export function parseLock(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match?.[1] && match[2]) entries.set(match[2], match[1]);
  }
  return entries;
}

/** Every problem of `files` (name → content) against the lock: a released file changed or gone, or a file not listed. */
export function lockProblems(lock: Map<string, string>, files: Map<string, string>): LockProblem[] {
  const problems: LockProblem[] = [];
  for (const [file, checksum] of lock) {
    const content = files.get(file);
    if (content === undefined) problems.push({ file, problem: "missing" });
    else if (sha256Hex(content) !== checksum) problems.push({ file, problem: "changed" });
  }
  for (const file of files.keys()) if (!lock.has(file)) problems.push({ file, problem: "unlisted" });
  return problems;
}

async function migrationFiles(): Promise<Map<string, string>> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith(".sql")).sort();
  return new Map(
    await Promise.all(
      names.map(async (name) => [name, await readFile(join(MIGRATIONS_DIR, name), "utf8")] as const),
    ),
  );
}

const EXPLAIN: Record<LockProblem["problem"], string> = {
  changed: "was released and has changed: restore it and add a new migration instead",
  missing: "was released and is gone: restore it (released migrations are never removed)",
  unlisted: "is not in supabase/migrations.lock yet: run `npm run db:lock` in the change that adds it",
};

async function main(): Promise<void> {
  const lock = parseLock(await readFile(LOCK_FILE, "utf8").catch(() => ""));
  const files = await migrationFiles();
  const problems = lockProblems(lock, files);
  if (process.argv.includes("--write")) {
    const blocking = problems.filter((p) => p.problem !== "unlisted");
    if (blocking.length === 0) {
      const lines = [...files].map(([file, content]) => `${sha256Hex(content)}  ${file}`);
      await writeFile(LOCK_FILE, `${lines.join("\n")}\n`);
      console.log(`supabase/migrations.lock: ${files.size} migrations`);
      return;
    }
    problems.splice(0, problems.length, ...blocking);
  }
  for (const { file, problem } of problems) console.error(`supabase/migrations/${file} ${EXPLAIN[problem]}`);
  if (problems.length > 0) process.exit(1);
}

if (import.meta.main) await main();
