/**
 * The judgements behind `npm run deploy:check`, pure (data in, findings out): the bundle against
 * Cloudflare's Worker size limit, wrangler.toml's vars (with whatever secrets this shell exports) through
 * the worker's own validation (src/env.ts), the hosting settings, and the installation doctor's findings
 * (src/ops/doctor.ts), each rendered with its fix. dev/deploy-check.ts does the I/O.
 */
import { parseAdminTokenList } from "../src/admin/tokens.ts";
import { parseConfig } from "../src/env.ts";
import type { IncidentInput } from "../src/ledger/ports.ts";
import { callFinding, doctorFindings } from "../src/ops/doctor.ts";
import type { DoctorFacts } from "../src/ops/store.ts";
import { certificateExpiryFindings } from "../src/providers/wechatpay/cert-expiry.ts";
import { readPlatformCertificates } from "../src/providers/wechatpay/certificates.ts";
import { callbackUrlProblem } from "../src/reconcile/public-url.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
/**
 * Cloudflare's Worker size limit: the uncompressed upload, the same on every plan, since 2026-09-04
 * (developers.cloudflare.com/workers/platform/limits/#worker-size; wrangler 4.15x's bundle reporter
 * compares against it too).
 */
export const WORKER_SIZE_LIMIT_BYTES = 64 * MIB;
/** The compressed (gzip) limits Cloudflare removed on 2026-09-04; reported for reference, never gating. */
export const FORMER_GZIP_LIMIT_FREE_BYTES = 3 * MIB;
export const FORMER_GZIP_LIMIT_PAID_BYTES = 10 * MIB;
/** A bundle past this share of the limit is a warning: one more dependency may not fit. */
export const WORKER_SIZE_WARN_SHARE = 0.8;

export type Level = "ok" | "info" | "warning" | "error";

export interface Finding {
  level: Level;
  message: string;
  /** What to do about it: a command, a setting, a statement. */
  fix?: string;
}

export interface Section {
  title: string;
  findings: Finding[];
}

const kib = (bytes: number) => `${(bytes / KIB).toLocaleString("en-US", { maximumFractionDigits: 1 })} KiB`;
const mib = (bytes: number) => `${bytes / MIB} MiB`;

/** The bundle `wrangler deploy` would upload, against the platform limit. */
export function sizeFindings(size: { rawBytes: number; gzipBytes: number }): Finding[] {
  const share = size.rawBytes / WORKER_SIZE_LIMIT_BYTES;
  const measured = `${kib(size.rawBytes)} (gzip ${kib(size.gzipBytes)})`;
  const percent = `${(share * 100).toFixed(1)} % of Cloudflare's ${mib(WORKER_SIZE_LIMIT_BYTES)} Worker size limit (uncompressed, every plan)`;
  const verdict: Finding =
    share > 1
      ? {
          level: "error",
          message: `Worker bundle ${measured} is over the limit: ${percent}`,
          fix: "remove dependencies from the bundle; Cloudflare refuses the upload",
        }
      : share > WORKER_SIZE_WARN_SHARE
        ? {
            level: "warning",
            message: `Worker bundle ${measured} is close to the limit: ${percent}`,
            fix: "look for large dependencies before adding more",
          }
        : { level: "ok", message: `Worker bundle ${measured}: ${percent}` };
  const former =
    size.gzipBytes <= FORMER_GZIP_LIMIT_FREE_BYTES
      ? "under both"
      : size.gzipBytes <= FORMER_GZIP_LIMIT_PAID_BYTES
        ? "over the Free one, under the Paid one"
        : "over both";
  return [
    verdict,
    {
      level: "info",
      message: `gzip is for reference: the former compressed limits (${mib(FORMER_GZIP_LIMIT_FREE_BYTES)} Free, ${mib(FORMER_GZIP_LIMIT_PAID_BYTES)} Paid, removed 2026-09-04) would find it ${former}`,
    },
  ];
}

const CONFIG_NAME = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bPROVIDERS\b/g;

/**
 * The configuration names a problem from src/env.ts mentions ("STRIPE_SECRET_KEY is missing"); a
 * `{PLACEHOLDER}` it quotes is not one.
 */
export function namesIn(problem: string): string[] {
  return [...new Set(problem.replace(/\{[^}]*\}/g, "").match(CONFIG_NAME) ?? [])];
}

export interface ConfigInput {
  /** wrangler.toml `[vars]` (of the chosen environment): exactly what `wrangler deploy` uploads. */
  vars: Record<string, string>;
  /** wrangler.toml `[secrets] required`. */
  requiredSecrets: readonly string[];
  /** This shell's environment: secrets exported here are checked too. */
  environment: Record<string, string | undefined>;
}

const secretFix = (name: string) => `wrangler secret put ${name}`;

/**
 * wrangler.toml's vars, plus the secrets found in this shell, through `parseConfig`. A name that is not in
 * `[vars]` is a secret; a problem that names a secret this shell does not hold cannot be judged here, so it
 * becomes "set it with wrangler secret put" (a warning: it may already be set on the Worker). Every other
 * problem is an error: a var in wrangler.toml, or an exported secret, that the worker would refuse.
 */
export function configFindings(input: ConfigInput): Finding[] {
  const env: Record<string, string | undefined> = { ...input.environment, ...input.vars };
  const present = (name: string) => (env[name] ?? "").trim() !== "";
  const absentSecret = (name: string) => !(name in input.vars) && !present(name);
  const pending = new Map<string, string>();
  for (const name of input.requiredSecrets.filter(absentSecret)) {
    pending.set(name, "wrangler.toml [secrets] required: wrangler deploy refuses to deploy without it");
  }
  const errors: Finding[] = [];
  const result = parseConfig(env);
  const problems = result.ok ? [] : result.problems;
  const tokens = parseAdminTokenList(env.ADMIN_TOKENS ?? "");
  if (!tokens.ok) problems.push(tokens.problem);
  for (const problem of problems) {
    const secrets = namesIn(problem).filter(absentSecret);
    for (const name of secrets) if (!pending.has(name)) pending.set(name, `needed: ${problem}`);
    if (secrets.length > 0) continue;
    const names = namesIn(problem);
    const inVars = names.filter((name) => name in input.vars);
    errors.push({
      level: "error",
      message: problem,
      fix:
        inVars.length > 0
          ? `correct ${inVars.join(", ")} in wrangler.toml [vars]`
          : `correct the value, then ${names.map(secretFix).join(" and ") || "wrangler secret put NAME"}`,
    });
  }
  const secrets = [...pending].map(
    ([name, why]): Finding => ({
      level: "warning",
      message: `${name} is not in this shell, so it is not checked (${why})`,
      fix: `${secretFix(name)}  (skip if the Worker has it already: wrangler secret list)`,
    }),
  );
  const warnings = result.ok
    ? result.warnings.map((warning): Finding => ({ level: "warning", message: warning }))
    : [];
  const verdict: Finding[] =
    errors.length === 0
      ? [{ level: "ok", message: "wrangler.toml [vars] pass the worker's own validation (src/env.ts)" }]
      : [];
  return [...verdict, ...errors, ...warnings, ...secrets];
}

/**
 * The WeChat Pay platform certificate in this shell's WECHATPAY_PLATFORM_CERTS that expires last, when it
 * expires within 30 days or has, as the hourly check would raise it (an unreadable one is configFindings').
 */
export function certificateFindings(
  environment: Record<string, string | undefined>,
  nowMs: number,
): Finding[] {
  let platformCertificates: ReturnType<typeof readPlatformCertificates>;
  try {
    platformCertificates = readPlatformCertificates(environment.WECHATPAY_PLATFORM_CERTS ?? "");
  } catch {
    return [];
  }
  const publicKeyId = environment.WECHATPAY_PUBLIC_KEY_ID?.trim() || null;
  return certificateExpiryFindings({ platformCertificates, publicKeyId }, nowMs).map((incident) => ({
    ...fromIncident(incident),
    fix: "put the next certificate beside it in WECHATPAY_PLATFORM_CERTS, or move to the WeChat Pay public key (WECHATPAY_PUBLIC_KEY_ID, WECHATPAY_PUBLIC_KEY)",
  }));
}

/** A route as wrangler.toml declares it: a pattern string, or an object with one. */
export type RouteLike = string | { pattern: string; custom_domain?: boolean };

export interface HostingInput {
  vars: Record<string, string>;
  workersDev: boolean | undefined;
  previewUrls: boolean | undefined;
  routes: RouteLike[];
}

/** Hosts no deployment can really be reached at: RFC 2606 example names and the template's project. */
const PLACEHOLDER_HOST =
  /(^|\.)example\.(com|net|org)$|\.(example|test|invalid)$|^your-project\.supabase\.co$/;

const hostOf = (url: string) => (URL.canParse(url) ? new URL(url).hostname.toLowerCase() : "");
const routeHost = (route: RouteLike) =>
  (typeof route === "string" ? route : route.pattern)
    .replace(/^https?:\/\//, "")
    .split("/")[0]
    ?.toLowerCase() ?? "";

function placeholderFindings(vars: Record<string, string>): Finding[] {
  return ["PUBLIC_BASE_URL", "SUPABASE_URL"].flatMap((name): Finding[] => {
    const host = hostOf(vars[name] ?? "");
    return host && PLACEHOLDER_HOST.test(host)
      ? [
          {
            level: "warning",
            message: `${name} is still a placeholder (${vars[name]})`,
            fix: `set ${name} in wrangler.toml [vars] to your real URL`,
          },
        ]
      : [];
  });
}

function routeFindings(input: HostingInput, base: string): Finding[] {
  const host = hostOf(base);
  const served = input.routes.map(routeHost);
  const findings: Finding[] = [];
  if (input.routes.length === 0)
    findings.push({
      level: "warning",
      message: "no route or custom domain: nothing serves PUBLIC_BASE_URL with this Worker",
      fix: `routes = [{ pattern = "${host || "payguard.example.com"}", custom_domain = true }] in wrangler.toml`,
    });
  else if (host && !served.includes(host))
    findings.push({
      level: "warning",
      message: `PUBLIC_BASE_URL's host ${host} is not among the routes (${served.join(", ")})`,
      fix: "make PUBLIC_BASE_URL the hostname the Worker is served on",
    });
  if (input.workersDev !== false)
    findings.push({
      level: "warning",
      message: "workers_dev is not false: the Worker also answers on its *.workers.dev URL",
      fix: "workers_dev = false in wrangler.toml",
    });
  if (input.previewUrls !== false)
    findings.push({
      level: "warning",
      message: "preview_urls is not false: uploaded versions may get public preview URLs",
      fix: "preview_urls = false in wrangler.toml",
    });
  return findings;
}

/** Where the Worker is served and what providers will call: custom domain only, public https. */
export function hostingFindings(input: HostingInput): Finding[] {
  const base = (input.vars.PUBLIC_BASE_URL ?? "").trim();
  const problem = base ? callbackUrlProblem(base) : null;
  const url: Finding[] = problem
    ? [
        {
          level: "error",
          message: `PUBLIC_BASE_URL ${base}: ${problem}; Stripe and WeChat Pay could not call it (the hourly check raises callback_url_not_public)`,
          fix: "a public https URL, the custom domain this Worker is served on",
        },
      ]
    : [];
  const providers = (input.vars.PROVIDERS ?? "").split(",").map((name) => name.trim());
  const checkout =
    providers.includes("stripe") && !input.vars.CHECKOUT_SUCCESS_URL?.trim()
      ? [
          {
            level: "warning" as const,
            message:
              "CHECKOUT_SUCCESS_URL is empty: POST /api/checkout refuses provider stripe (no Stripe Checkout)",
            fix: "set CHECKOUT_SUCCESS_URL (with {CHECKOUT_SESSION_ID}) and CHECKOUT_CANCEL_URL, docs/deploy.md",
          },
        ]
      : [];
  return [...url, ...placeholderFindings(input.vars), ...checkout, ...routeFindings(input, base)];
}

const LEVEL_OF: Record<IncidentInput["severity"], Level> = {
  critical: "error",
  warning: "warning",
  info: "info",
};

/** A doctor incident as a finding: its summary without the fix, and the fix on its own line. */
export function fromIncident(incident: IncidentInput): Finding {
  const fix = typeof incident.detail.fix === "string" ? incident.detail.fix : undefined;
  const message = fix ? incident.summary.replace(`. Fix: ${fix}`, "") : incident.summary;
  return { level: LEVEL_OF[incident.severity], message: `${message} [${incident.key}]`, fix };
}

/** The worker's own doctor logic over the facts `payguard.doctor()` returned. */
export function doctorFactsFindings(facts: DoctorFacts): Finding[] {
  const found = doctorFindings(facts).map(fromIncident);
  if (found.length > 0) return found;
  return [
    {
      level: "ok",
      message: `installation doctor: no problems (migrations: ${facts.migrations.latest ?? "?"} in ${facts.migrations.table}, ${facts.functions.length} functions, RLS on ${facts.tables.length} tables)`,
    },
  ];
}

/** SQLSTATEs of a call to a function that does not exist: the schema or the function is missing. */
const MISSING_SQLSTATES = new Set(["42883", "3F000"]);

/** What a failed `select payguard.doctor(…)` says, through the same finding the worker raises. */
export function doctorCallFindings(error: { code?: string; message: string }): Finding[] {
  const missing = MISSING_SQLSTATES.has(error.code ?? "")
    ? callFinding({ kind: "permanent", code: "PGRST202", message: error.message })
    : null;
  if (missing) return [fromIncident(missing)];
  return [
    {
      level: "error",
      message: `could not run payguard.doctor: ${error.code ? `${error.code} ` : ""}${error.message}`,
      fix: "SUPABASE_DB_URL must reach the project's database as its postgres role",
    },
  ];
}

const LABEL: Record<Level, string> = { ok: "ok", info: "info", warning: "warn", error: "ERROR" };

export function countLevels(sections: Section[]): Record<Level, number> {
  const counts: Record<Level, number> = { ok: 0, info: 0, warning: 0, error: 0 };
  for (const finding of sections.flatMap((section) => section.findings)) counts[finding.level] += 1;
  return counts;
}

/** Plain text: one heading per section, one line per finding, its fix indented under it. */
export function renderReport(heading: string, sections: Section[]): string {
  const lines = [heading, ""];
  for (const section of sections) {
    lines.push(section.title);
    for (const finding of section.findings) {
      lines.push(`  ${LABEL[finding.level].padEnd(5)}  ${finding.message}`);
      if (finding.fix) lines.push(`         fix: ${finding.fix}`);
    }
    lines.push("");
  }
  const counts = countLevels(sections);
  const tally = `${counts.error} error${counts.error === 1 ? "" : "s"}, ${counts.warning} warning${counts.warning === 1 ? "" : "s"}`;
  lines.push(
    counts.error > 0
      ? `${tally}: fix the errors before wrangler deploy`
      : counts.warning > 0
        ? `${tally}: read the warnings, then wrangler deploy`
        : `${tally}: ready for wrangler deploy`,
  );
  return lines.join("\n");
}

export const exitCodeFor = (sections: Section[]): number => (countLevels(sections).error > 0 ? 1 : 0);
