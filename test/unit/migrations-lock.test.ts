import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../dev/migrate.ts";
import { lockProblems, parseLock } from "../../dev/migrations-lock.ts";

const released = "create table payguard.t (id int);\n";
const lock = parseLock(`${sha256Hex(released)}  0001_baseline.sql\n`);

describe("supabase/migrations.lock", () => {
  it("reads the format sha256sum writes (text and binary mode)", () => {
    expect(parseLock(`${"a".repeat(64)}  x.sql\n${"b".repeat(64)} *y.sql\n`)).toEqual(
      new Map([
        ["x.sql", "a".repeat(64)],
        ["y.sql", "b".repeat(64)],
      ]),
    );
  });

  it("passes the released files as they were, and a new one once listed", () => {
    expect(lockProblems(lock, new Map([["0001_baseline.sql", released]]))).toEqual([]);
  });

  it("names a released file that changed or disappeared, and a migration not listed yet", () => {
    expect(lockProblems(lock, new Map([["0001_baseline.sql", `${released}-- edited\n`]]))).toEqual([
      { file: "0001_baseline.sql", problem: "changed" },
    ]);
    expect(lockProblems(lock, new Map([["0002_next.sql", "select 1;\n"]]))).toEqual([
      { file: "0001_baseline.sql", problem: "missing" },
      { file: "0002_next.sql", problem: "unlisted" },
    ]);
  });
});
