/**
 * A local Postgres shaped like Supabase, for every real-Postgres run (SQL tests, stand-in, bench, chaos,
 * `npm start` with DATABASE_URL, CI).
 *
 * Why: Supabase applies migrations as `postgres`, which there is not a superuser (supabase_admin is). A
 * stock PostgreSQL has `postgres` as its bootstrap superuser, which can never be demoted, so migrations
 * that pass there can still fail on a real project (`create role … bypassrls`, extensions, grants on
 * objects it does not own). So we run a cluster of our own whose bootstrap superuser is supabase_admin,
 * give it the roles of a project (cluster-roles.sql), prepare each database like a fresh project
 * (project-bootstrap.sql) and hand out the demoted `postgres` URL for migrations.
 *
 * `node dev/supabase/cluster.ts start --dir D [--port P]`  start one in the background, print its admin URL
 * `node dev/supabase/cluster.ts stop --dir D`              stop it and remove D
 * `node dev/supabase/cluster.ts run [--port P]`            `npm run db:cluster`: in the foreground until Ctrl-C
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

const PG_BIN_DIR = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
const HOST = "127.0.0.1";
const ADMIN_ROLE = "supabase_admin";
const OWNER_ROLE = "postgres";
/** Postgres refuses to run as root; as root the server runs as this OS user. */
const SERVER_OS_USER = "postgres";
/** Supabase's local database port (`supabase start`), the default of `npm run db:cluster`. */
export const SUPABASE_LOCAL_DB_PORT = 54322;
const MAX_CONNECTIONS = 200;
const START_TIMEOUT_S = 60;
const LOG_TAIL_CHARS = 2_000;
const KEEP_ALIVE_MS = 60_000;
/** How long a drop waits for the caller's own connections, closed just before, to leave the server. */
const CLOSING_WAIT_MS = 3_000;
const CLOSING_POLL_MS = 50;
const CLUSTER_ROLES_SQL = new URL("./cluster-roles.sql", import.meta.url);
const PROJECT_BOOTSTRAP_SQL = new URL("./project-bootstrap.sql", import.meta.url);
const HOW_TO_GET_ONE = `start one with \`npm run db:cluster\` and use DATABASE_URL=postgres://${ADMIN_ROLE}@${HOST}:${SUPABASE_LOCAL_DB_PORT}/postgres`;

export interface SupabaseCluster {
  /** `postgres://supabase_admin@127.0.0.1:<port>/postgres`: the superuser, for creating databases. */
  adminUrl: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export interface SupabaseDatabase {
  /** The database as supabase_admin (superuser): setup and checks only. */
  adminUrl: string;
  /** The database as the demoted `postgres`: what migrations and the app run as, as on Supabase. */
  ownerUrl: string;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a server binary as the OS user allowed to run it (root hands over to `postgres`). */
async function runServerBinary(binary: string, args: string[]): Promise<void> {
  const path = join(PG_BIN_DIR, binary);
  const [command, argv] = isRoot() ? ["runuser", ["-u", SERVER_OS_USER, "--", path, ...args]] : [path, args];
  try {
    await run(command, argv);
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${binary} failed: ${(stderr || stdout || (error as Error).message).trim()}`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function logTail(logFile: string): Promise<string> {
  const log = await readFile(logFile, "utf8").catch(() => "");
  return log.slice(-LOG_TAIL_CHARS);
}

const dataDirOf = (dir: string) => join(dir, "data");
const logFileOf = (dir: string) => join(dir, "postgres.log");

function serverSettings(port: number, dataDir: string): string {
  return [
    "",
    "# dev/supabase/cluster.ts",
    `port = ${port}`,
    `listen_addresses = '${HOST}'`,
    `unix_socket_directories = '${dataDir}'`,
    `max_connections = ${MAX_CONNECTIONS}`,
    "timezone = 'UTC'",
    // A throwaway cluster for tests: durability is not worth the time.
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "",
  ].join("\n");
}

/** Trust, and only from this machine: the socket in the data dir and 127.0.0.1. */
const PG_HBA = ["local all all trust", `host all all ${HOST}/32 trust`, ""].join("\n");

/** One connection for `work`, closed afterwards whatever happened. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function stopCluster(dir: string): Promise<void> {
  const dataDir = dataDirOf(dir);
  if (!existsSync(join(dataDir, "PG_VERSION")))
    throw new Error(`${dir} does not hold a cluster started here`);
  if (existsSync(join(dataDir, "postmaster.pid"))) {
    await runServerBinary("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
  }
  await rm(dir, { recursive: true, force: true });
}

/**
 * initdb with supabase_admin as the bootstrap superuser, start (detached, logging to `<dir>/postgres.log`)
 * and create the project roles. `dir` must be empty or absent; default a new one under the OS temp dir.
 */
export async function startSupabaseCluster(
  options: { port?: number; dir?: string } = {},
): Promise<SupabaseCluster> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "payguard-supabase-pg-")));
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty`);
  if (isRoot()) await run("chown", [`${SERVER_OS_USER}:`, dir]);
  const port = options.port ?? (await freePort());
  const dataDir = dataDirOf(dir);
  const adminUrl = `postgres://${ADMIN_ROLE}@${HOST}:${port}/postgres`;
  try {
    await runServerBinary("initdb", [
      "-D",
      dataDir,
      `--username=${ADMIN_ROLE}`,
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
      "--no-instructions",
    ]);
    await appendFile(join(dataDir, "postgresql.conf"), serverSettings(port, dataDir));
    await writeFile(join(dataDir, "pg_hba.conf"), PG_HBA);
    await runServerBinary("pg_ctl", [
      "-D",
      dataDir,
      "-l",
      logFileOf(dir),
      "-w",
      "-t",
      String(START_TIMEOUT_S),
      "start",
    ]).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await logTail(logFileOf(dir))}`);
    });
    await withClient(adminUrl, async (client) => {
      await client.query(await readFile(CLUSTER_ROLES_SQL, "utf8"));
    });
  } catch (error) {
    await stopCluster(dir).catch(() => rm(dir, { recursive: true, force: true }));
    throw error;
  }
  return { adminUrl, port, dir, stop: () => stopCluster(dir) };
}

function withDatabase(url: string, database: string): URL {
  const next = new URL(url);
  next.pathname = `/${database}`;
  return next;
}

/** The same server and database as the demoted `postgres` (a password, if any, is kept: Supabase's local
 * stack gives both roles the same one). */
function ownerUrlOf(adminUrl: string): string {
  const url = new URL(adminUrl);
  url.username = OWNER_ROLE;
  return url.toString();
}

interface ServerShape {
  me: string;
  me_super: boolean;
  postgres_super: boolean | null;
  has_admin: boolean;
  missing: string[];
}

const SHAPE_SQL = `
  select current_user as me,
         (select rolsuper from pg_catalog.pg_roles where rolname = current_user) as me_super,
         (select rolsuper from pg_catalog.pg_roles where rolname = '${OWNER_ROLE}') as postgres_super,
         exists (select 1 from pg_catalog.pg_roles where rolname = '${ADMIN_ROLE}') as has_admin,
         array(select name from unnest(array['${OWNER_ROLE}', 'anon', 'authenticated', 'service_role',
                                             'authenticator', 'supabase_auth_admin']) as name
                where not exists (select 1 from pg_catalog.pg_roles where rolname = name)) as missing`;

/** Throws unless the server has Supabase's roles and `url` connects as its superuser. */
async function assertSupabaseShaped(client: pg.Client, url: string): Promise<void> {
  const shape = (await client.query<ServerShape>(SHAPE_SQL)).rows[0] as ServerShape;
  const where = new URL(url).host;
  const problems = [
    shape.postgres_super ? `role ${OWNER_ROLE} is a superuser there` : "",
    shape.has_admin ? "" : `role ${ADMIN_ROLE} is missing`,
    shape.missing.length > 0 ? `roles ${shape.missing.join(", ")} are missing` : "",
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new Error(
      `The Postgres at ${where} is not Supabase-shaped (${problems.join("; ")}): migrations must run as a ` +
        `non-superuser postgres, as on Supabase; ${HOW_TO_GET_ONE}`,
    );
  }
  if (!shape.me_super) {
    throw new Error(
      `Connected to ${where} as ${shape.me}, not a superuser: give the admin URL (${ADMIN_ROLE}); ${HOW_TO_GET_ONE}`,
    );
  }
}

/**
 * Prepares the database `adminUrl` names like a fresh project (idempotent) and returns its URLs; for a
 * long-lived database such as `npm start`'s.
 */
export async function prepareSupabaseDatabase(adminUrl: string): Promise<SupabaseDatabase> {
  await withClient(adminUrl, async (client) => {
    await assertSupabaseShaped(client, adminUrl);
    await client.query(await readFile(PROJECT_BOOTSTRAP_SQL, "utf8"));
  });
  return { adminUrl, ownerUrl: ownerUrlOf(adminUrl) };
}

/**
 * A pool's `end()` resolves before its sockets have closed; dropping the database `with (force)` at that
 * moment sends those closing clients a FATAL 57P01 that nobody listens for any more. So the drop waits
 * until the server no longer lists a session on the database (force still ends a straggler).
 */
async function dropWhenIdle(serverAdminUrl: string, name: string): Promise<void> {
  await withClient(serverAdminUrl, async (client) => {
    const deadline = Date.now() + CLOSING_WAIT_MS;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_catalog.pg_stat_activity where datname = $1",
        [name],
      );
      if ((rows[0]?.n ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, CLOSING_POLL_MS));
    }
    await client.query(`drop database if exists "${name}" with (force)`);
  });
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates database `name` (owned by postgres, as a project's is) on the Supabase-shaped server at
 * `adminUrl`, prepares it like a fresh project and returns its URLs; `ownerUrl` is the one migrations use.
 */
export async function createSupabaseDatabase(
  adminUrl: string,
  name: string,
): Promise<SupabaseDatabase & { drop(): Promise<void> }> {
  if (!DATABASE_NAME.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withClient(adminUrl, async (client) => {
    await assertSupabaseShaped(client, adminUrl);
    await client.query(`create database "${name}" owner ${OWNER_ROLE}`);
  });
  const database = withDatabase(adminUrl, name).toString();
  const drop = () => dropWhenIdle(adminUrl, name);
  try {
    return { ...(await prepareSupabaseDatabase(database)), drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: "string" }, port: { type: "string" } },
  });
  const command = positionals[0];
  const port = values.port ? Number(values.port) : undefined;
  if (command === "start" && values.dir) {
    const cluster = await startSupabaseCluster({ dir: values.dir, port });
    console.log(cluster.adminUrl);
  } else if (command === "stop" && values.dir) {
    await stopCluster(values.dir);
  } else if (command === "run") {
    const cluster = await startSupabaseCluster({ dir: values.dir, port: port ?? SUPABASE_LOCAL_DB_PORT });
    console.log(`DATABASE_URL=${cluster.adminUrl}`);
    console.error(`Supabase-shaped Postgres in ${cluster.dir}; Ctrl-C stops it and removes the directory.`);
    // The server runs detached; this timer is what keeps the process (and so the Ctrl-C handler) alive.
    const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
    const stop = () => {
      clearInterval(keepAlive);
      void cluster.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } else {
    throw new Error("usage: cluster.ts start --dir D [--port P] | stop --dir D | run [--port P] [--dir D]");
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`cluster: ${(error as Error).message}`);
    process.exit(1);
  });
}
