import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../../../dev/migrate.ts";
import { EXPECTED_FUNCTIONS, EXPECTED_MIGRATION } from "../../../src/ops/expected-schema.ts";

const FUNCTION_PATTERN =
  /create\s+(?:or\s+replace\s+)?function\s+payguard\.([a-z0-9_]+)\s*\(([^)]*)\)\s*returns\s+(\w+)/gi;

describe("what the doctor expects of the database", () => {
  it("the expected migration is the last one in supabase/migrations", async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith(".sql")).sort();
    expect(files.at(-1)?.replace(/\.sql$/, "")).toBe(EXPECTED_MIGRATION);
  });

  it("the expected functions are every callable function the migrations create", async () => {
    const names = new Set<string>();
    for (const file of await readdir(MIGRATIONS_DIR)) {
      const sql = await readFile(join(MIGRATIONS_DIR, file), "utf8");
      for (const [, name = "", , returns] of sql.matchAll(FUNCTION_PATTERN))
        if (!name.startsWith("_") && returns?.toLowerCase() !== "trigger") names.add(name);
    }
    expect([...EXPECTED_FUNCTIONS].sort()).toEqual([...names].sort());
  });
});
