/**
 * `npm run deploy:check [-- --env NAME]`: the last step before `wrangler deploy`. Builds the bundle with
 * `wrangler deploy --dry-run` and measures it against Cloudflare's Worker size limit, runs wrangler.toml's
 * vars (and any secrets exported in this shell) through the worker's own configuration validation, checks
 * where the Worker is served, and, when SUPABASE_DB_URL is set, asks that database the installation
 * doctor's questions (`payguard.doctor()`, judged by the worker's own findings logic). Needs no Cloudflare
 * login. Prints every finding with its fix; exits 1 when any is an error.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import { EXPECTED_MIGRATION } from "../src/ops/expected-schema.ts";
import type { DoctorFacts } from "../src/ops/store.ts";
import {
  certificateFindings,
  configFindings,
  doctorCallFindings,
  doctorFactsFindings,
  exitCodeFor,
  type Finding,
  hostingFindings,
  type RouteLike,
  renderReport,
  type Section,
  sizeFindings,
} from "./deploy-check-findings.ts";

const run = promisify(execFile);
/** A dry-run build takes a few seconds; a hung one should not hang a deploy pipeline. */
const DRY_RUN_TIMEOUT_MS = 120_000;
const DB_CONNECT_TIMEOUT_MS = 10_000;
const DB_STATEMENT_TIMEOUT_MS = 15_000;
/** Lines of wrangler's output shown when the dry run fails. */
const WRANGLER_ERROR_LINES_MAX = 20;
/** Build output that is not uploaded as a module (wrangler's own size report leaves these out too). */
const NOT_UPLOADED = /\.map$|^README\.md$/;

interface Options {
  config: string;
  env: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { config: "wrangler.toml", env: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const [arg, value] = [argv[i], argv[i + 1]];
    if ((arg === "--env" || arg === "-e") && value) options.env = value;
    else if ((arg === "--config" || arg === "-c") && value) options.config = value;
    else throw new Error(`unknown argument ${arg} (use --env NAME, --config PATH)`);
    i += 1;
  }
  return options;
}

/** `wrangler deploy --dry-run`: the exact bundle a deploy would upload, measured as wrangler measures it. */
async function bundleSection(options: Options): Promise<Section> {
  const outdir = await mkdtemp(join(tmpdir(), "payguard-deploy-check-"));
  try {
    const args = ["deploy", "--dry-run", "--outdir", outdir, "--config", options.config];
    if (options.env) args.push("--env", options.env);
    await run("wrangler", args, {
      timeout: DRY_RUN_TIMEOUT_MS,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 16 * 1024 * 1024,
    });
    const files = (await readdir(outdir)).filter((name) => !NOT_UPLOADED.test(name)).sort();
    const contents = await Promise.all(files.map((name) => readFile(join(outdir, name))));
    const bundle = Buffer.concat(contents);
    const findings = sizeFindings({ rawBytes: bundle.byteLength, gzipBytes: gzipSync(bundle).byteLength });
    return { title: `Bundle (wrangler deploy --dry-run: ${files.join(", ")})`, findings };
  } catch (error) {
    const output = `${(error as { stderr?: string }).stderr ?? ""}${(error as { stdout?: string }).stdout ?? ""}`;
    const tail = output.trim().split("\n").slice(-WRANGLER_ERROR_LINES_MAX).join("\n         ");
    return {
      title: "Bundle (wrangler deploy --dry-run)",
      findings: [
        {
          level: "error",
          message: `the dry run failed: ${tail || (error as Error).message}`,
          fix: "fix the build error above; wrangler deploy would fail the same way",
        },
      ],
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

function configSections(options: Options): Section[] {
  const config = unstable_readConfig({ config: options.config, env: options.env }, { hideWarnings: true });
  const vars = Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, asText(v)]));
  const routes = [...(config.routes ?? []), ...(config.route ? [config.route] : [])] as RouteLike[];
  return [
    {
      title: "Configuration (wrangler.toml [vars], secrets from this shell)",
      findings: [
        ...configFindings({
          vars,
          requiredSecrets: config.secrets?.required ?? [],
          environment: process.env,
        }),
        ...certificateFindings({ ...process.env, ...vars }, Date.now()),
      ],
    },
    {
      title: "Hosting",
      findings: hostingFindings({
        vars,
        workersDev: config.workers_dev,
        previewUrls: config.preview_urls,
        routes,
      }),
    },
  ];
}

/** The installation doctor over SQL: the same function the worker calls, read-only, then its findings. */
async function databaseSection(url: string | undefined): Promise<Section> {
  const title = "Database (installation doctor over SUPABASE_DB_URL)";
  if (!url)
    return {
      title,
      findings: [
        {
          level: "info",
          message:
            "skipped: SUPABASE_DB_URL is not set (the worker runs the same doctor at its first request)",
          fix: 'SUPABASE_DB_URL="postgresql://postgres…" npm run deploy:check',
        },
      ],
    };
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS,
    statement_timeout: DB_STATEMENT_TIMEOUT_MS,
  });
  const exposure: Finding = {
    level: "info",
    message:
      "not visible over SQL: whether the Data API exposes schema payguard (the worker's doctor reports doctor:schema_not_exposed)",
  };
  try {
    await client.connect();
    await client.query("begin read only");
    const { rows } = await client.query<{ facts: DoctorFacts }>("select payguard.doctor($1) as facts", [
      EXPECTED_MIGRATION,
    ]);
    await client.query("rollback");
    const facts = rows[0]?.facts;
    if (!facts) throw new Error("payguard.doctor returned nothing");
    return { title, findings: [...doctorFactsFindings(facts), exposure] };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { title, findings: doctorCallFindings({ code, message }) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const bundle = await bundleSection(options);
  const sections = [bundle, ...configSections(options), await databaseSection(process.env.SUPABASE_DB_URL)];
  const target = options.env ? `${options.config}, environment ${options.env}` : options.config;
  console.log(renderReport(`payguard deploy check (${target})`, sections));
  process.exitCode = exitCodeFor(sections);
}

main().catch((error: unknown) => {
  console.error(`deploy:check failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
