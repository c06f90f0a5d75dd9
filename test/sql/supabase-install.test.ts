/**
 * Installing payguard the ways a Supabase project is installed, with the real Supabase CLI (the `supabase`
 * npm package) against Supabase-shaped databases (dev/supabase/cluster.ts), always as the demoted,
 * non-superuser `postgres`:
 *   - `supabase db push` beside an app that already has its own tables in public and its own history
 *     rows, payguard's files copied into the app's folder after the app's (no --include-all), then
 *     `supabase db lint` with 0 errors;
 *   - the upgrade from the previous release (the migrations of the last commit that changed
 *     supabase/migrations.lock) with `supabase db push`, compared with a fresh install: identical;
 *   - `npm run db:migrate` beside an app's CLI history, which it never touches; a re-run applies nothing.
 * After each, PUBLIC, anon and authenticated execute no payguard function.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../../dev/migrate.ts";
import { withClient } from "../../dev/supabase/cluster.ts";
import { schemaSnapshot } from "../support/node/schema-snapshot.ts";
import { createScratchDatabase } from "../support/node/scratch-db.ts";

const run = promisify(execFile);
const REPO = new URL("../../", import.meta.url).pathname;
const SUPABASE_CLI = join(REPO, "node_modules/.bin/supabase");
const NODE = process.execPath;
const CLI_TIMEOUT_MS = 120_000;

const base = process.env.DATABASE_URL;
if (!base) console.log("Supabase install suite skipped (DATABASE_URL is not set)");

/** The app's own migrations, already pushed before payguard arrives. */
const APP_MIGRATIONS: Record<string, string> = {
  "20250101000000_app_users.sql": `create table public.users (id uuid primary key, email text, points int not null default 0);
    alter table public.users enable row level security;
    create policy own_user on public.users for select to authenticated using (id = auth.uid());`,
  "20250601000000_app_orders.sql": `create table public.payment_orders (id text primary key, user_id uuid, amount int);
    create function public.app_points(u uuid) returns int language sql stable as 'select points from public.users where id = u';`,
};

const cliUrl = (url: string) => `${url}${url.includes("?") ? "&" : "?"}sslmode=disable`;

async function cli(workdir: string, args: string[]): Promise<string> {
  const { stdout } = await run(SUPABASE_CLI, [...args, "--workdir", workdir], {
    cwd: workdir,
    timeout: CLI_TIMEOUT_MS,
    env: { ...process.env, DO_NOT_TRACK: "1" },
  });
  return stdout;
}

async function projectWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "payguard-cli-"));
  await mkdir(join(dir, "supabase/migrations"), { recursive: true });
  for (const [name, sql] of Object.entries(files))
    await writeFile(join(dir, "supabase/migrations", name), sql);
  return dir;
}

async function payguardFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith(".sql")).sort();
}

/** payguard functions that PUBLIC, anon or authenticated can execute. */
async function exposedFunctions(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ fn: string }>(
      `select p.oid::regprocedure::text as fn
         from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace,
              unnest(array['public', 'anon', 'authenticated']) as r(role)
        where n.nspname = 'payguard' and has_function_privilege(r.role, p.oid, 'execute')`,
    );
    return rows.map((row) => row.fn);
  });
}

/** The migrations of the newest commit before this release that changed supabase/migrations.lock. */
async function previousRelease(): Promise<{ commit: string; files: Record<string, string> } | null> {
  const git = (args: string[]) => run("git", args, { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const current = await readFile(join(REPO, "supabase/migrations.lock"), "utf8");
  const { stdout: log } = await git(["log", "--format=%H", "--", "supabase/migrations.lock"]).catch(() => ({
    stdout: "",
  }));
  for (const commit of log.split("\n").filter(Boolean)) {
    const lock = (await git(["show", `${commit}:supabase/migrations.lock`])).stdout;
    if (lock === current) continue;
    const names = lock
      .split("\n")
      .map((line) => line.trim().split(/\s+[ *]?/)[1])
      .filter((name): name is string => Boolean(name));
    const files: Record<string, string> = {};
    for (const name of names)
      files[name] = (await git(["show", `${commit}:supabase/migrations/${name}`])).stdout;
    return { commit, files };
  }
  return null;
}

describe.skipIf(!base)("installing on a Supabase project", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function database(prefix: string) {
    const scratch = await createScratchDatabase(base as string, prefix);
    cleanups.push(scratch.drop);
    return scratch;
  }
  async function project(files: Record<string, string>) {
    const dir = await projectWith(files);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it(
    "supabase db push beside an app's own history, as the demoted postgres, then db lint with 0 errors",
    async () => {
      const db = await database("payguard_cli");
      const app = await project(APP_MIGRATIONS);
      await cli(app, ["db", "push", "--db-url", cliUrl(db.ownerUrl), "--yes"]);
      // payguard's files go into the app's folder after the app's newest, each keeping its name.
      let version = 20260101000000;
      for (const name of await payguardFiles()) {
        version += 100;
        await copyFile(
          join(MIGRATIONS_DIR, name),
          join(app, "supabase/migrations", `${version}_${name.slice(15)}`),
        );
      }
      const pushed = await cli(app, ["db", "push", "--db-url", cliUrl(db.ownerUrl), "--yes"]);
      expect(pushed).toContain("Finished supabase db push");
      await withClient(db.ownerUrl, async (client) => {
        const { rows } = await client.query<{ version: string; name: string }>(
          "select version, name from supabase_migrations.schema_migrations order by version",
        );
        expect(rows.map((row) => row.name)).toEqual([
          "app_users",
          "app_orders",
          ...(await payguardFiles()).map((name) => name.slice(15, -4)),
        ]);
        const { rows: who } = await client.query<{ superuser: boolean }>(
          "select rolsuper as superuser from pg_catalog.pg_roles where rolname = current_user",
        );
        expect(who).toEqual([{ superuser: false }]);
        // The doctor finds its migration in the CLI's history by name.
        const { rows: doctor } = await client.query<{ migrations: { expected_applied: boolean } }>(
          "select payguard.doctor($1)->'migrations' as migrations",
          [(await payguardFiles()).at(-1)?.slice(0, -4)],
        );
        expect(doctor[0]?.migrations.expected_applied).toBe(true);
      });
      expect(await exposedFunctions(db.ownerUrl)).toEqual([]);

      const lint = await cli(app, [
        "db",
        "lint",
        "--db-url",
        cliUrl(db.ownerUrl),
        "--schema",
        "payguard",
        "--level",
        "error",
      ]);
      const issues = lint.trim() === "" ? [] : (JSON.parse(lint) as Array<{ function: string }>);
      expect(issues.map((issue) => issue.function)).toEqual([]);
    },
    CLI_TIMEOUT_MS * 3,
  );

  it(
    "an upgrade from the previous release with supabase db push equals a fresh install",
    async () => {
      const current = Object.fromEntries(
        await Promise.all(
          (await payguardFiles()).map(async (name) => [
            name,
            await readFile(join(MIGRATIONS_DIR, name), "utf8"),
          ]),
        ),
      ) as Record<string, string>;
      const fresh = await database("payguard_fresh");
      await cli(await project(current), ["db", "push", "--db-url", cliUrl(fresh.ownerUrl), "--yes"]);

      const previous = await previousRelease();
      const upgraded = await database("payguard_upgrade");
      if (previous) {
        console.log(`upgrade test: from the release at ${previous.commit.slice(0, 7)}`);
        await cli(await project(previous.files), [
          "db",
          "push",
          "--db-url",
          cliUrl(upgraded.ownerUrl),
          "--yes",
        ]);
      } else console.log("upgrade test: no earlier release in this history; comparing two fresh installs");
      const pushed = await cli(await project(current), [
        "db",
        "push",
        "--db-url",
        cliUrl(upgraded.ownerUrl),
        "--yes",
      ]);
      expect(pushed).not.toContain("--include-all");

      expect(await schemaSnapshot(upgraded.ownerUrl)).toEqual(await schemaSnapshot(fresh.ownerUrl));
      expect(await exposedFunctions(upgraded.ownerUrl)).toEqual([]);
      expect(await exposedFunctions(fresh.ownerUrl)).toEqual([]);
    },
    CLI_TIMEOUT_MS * 3,
  );

  it(
    "npm run db:migrate beside an app's CLI history never touches it, and a re-run applies nothing",
    async () => {
      const db = await database("payguard_migrate");
      await cli(await project(APP_MIGRATIONS), ["db", "push", "--db-url", cliUrl(db.ownerUrl), "--yes"]);
      const history = () =>
        withClient(db.ownerUrl, async (client) => {
          const { rows } = await client.query(
            "select * from supabase_migrations.schema_migrations order by version",
          );
          return rows;
        });
      const before = await history();
      const migrate = () =>
        run(NODE, [join(REPO, "dev/migrate.ts"), "--db-url", db.ownerUrl], {
          cwd: REPO,
          timeout: CLI_TIMEOUT_MS,
        });
      const first = await migrate();
      expect(first.stdout).toContain("applied:");
      expect(first.stderr).not.toContain("superuser");
      expect((await migrate()).stdout).toContain("up to date");
      expect(await history()).toEqual(before);
      expect(await exposedFunctions(db.ownerUrl)).toEqual([]);
      await withClient(db.ownerUrl, async (client) => {
        const { rows } = await client.query<{ name: string }>(
          "select name from payguard_meta.applied_migrations order by name",
        );
        expect(rows.map((row) => row.name)).toEqual(await payguardFiles());
      });
    },
    CLI_TIMEOUT_MS * 2,
  );
});
