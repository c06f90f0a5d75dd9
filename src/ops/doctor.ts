/**
 * Installation doctor: can the worker do its job against this database? Run at the first request of an
 * isolate, hourly and on demand. payguard.doctor() reports what the database knows (migrations, function
 * grants, RLS, the app hook); the worker adds what only a caller sees: the schema not exposed to the Data API
 * (406 PGRST106), the doctor itself missing (PGRST202) or not executable (42501), and functions the code
 * calls that are missing. Each problem is one `doctor:` incident whose summary names the fix; a run that
 * no longer finds it resolves it. A run that reached the database and found every function present and
 * executable also resolves the `data_api:` incidents the webhooks raised (src/ops/data-api.ts), whichever
 * isolate raised them.
 */
import type { Deps } from "../deps.ts";
import { PAYGUARD_SCHEMA } from "../deps.ts";
import type { IncidentInput } from "../ledger/ports.ts";
import type { InfraError } from "../ledger/result.ts";
import { setIncident, syncIncidents } from "../reconcile/incidents.ts";
import { DATA_API_PREFIX } from "./data-api.ts";
import { EXPECTED_FUNCTIONS, EXPECTED_MIGRATION } from "./expected-schema.ts";
import type { DoctorFacts, RoleGrants } from "./store.ts";

export const DOCTOR_PREFIX = "doctor:";

const APPLY_MIGRATIONS = "apply supabase/migrations (`supabase db push`)";
const OTHER_ROLES = ["public", "anon", "authenticated"] as const;

const finding = (check: string, subject: string, summary: string, fix: string): IncidentInput => ({
  key: `${DOCTOR_PREFIX}${check}${subject ? `:${subject}` : ""}`,
  kind: `doctor_${check}`,
  severity: "critical",
  summary: `${summary}. Fix: ${fix}`,
  detail: { check, subject, fix },
});

function migrationFindings(facts: DoctorFacts["migrations"], expected: string): IncidentInput[] {
  if (!facts.table)
    return [
      finding(
        "migrations",
        "",
        "No migration tracking table: payguard's migrations were never applied",
        APPLY_MIGRATIONS,
      ),
    ];
  if (facts.expected_applied) return [];
  return [
    finding(
      "migrations",
      "",
      `Database migrations are behind the code: expected ${expected}, latest applied ${facts.latest ?? "none"}`,
      APPLY_MIGRATIONS,
    ),
  ];
}

function functionFindings(facts: DoctorFacts["functions"], expected: readonly string[]): IncidentInput[] {
  const present = new Set(facts.map((fn) => fn.name));
  const missing = expected
    .filter((name) => !present.has(name))
    .map((name) =>
      finding("function_missing", name, `Function payguard.${name} is missing`, APPLY_MIGRATIONS),
    );
  const grants = facts.flatMap((fn) => {
    const found: IncidentInput[] = [];
    if (!fn.internal && !fn.service_role)
      found.push(
        finding(
          "function_not_executable",
          fn.name,
          `service_role cannot execute ${fn.signature}`,
          `grant execute on function ${fn.signature} to service_role;`,
        ),
      );
    const others = [
      ...OTHER_ROLES.filter((role) => fn[role]),
      ...(fn.internal && fn.service_role ? ["service_role"] : []),
    ];
    if (others.length > 0)
      found.push(
        finding(
          "function_exposed",
          fn.name,
          `${others.join(", ")} can execute ${fn.signature}`,
          `revoke execute on function ${fn.signature} from ${others.join(", ")};`,
        ),
      );
    return found;
  });
  return [...missing, ...grants];
}

/**
 * What the RLS policies are for: anon and authenticated read the active packages, authenticated reads its
 * own orders, ledger and balance (the policies filter the rows). Any other privilege of PUBLIC, anon or
 * authenticated on a payguard table or sequence lets them around the functions.
 */
export const INTENDED_READS: Readonly<Record<string, readonly (keyof RoleGrants)[]>> = {
  credit_packages: ["anon", "authenticated"],
  payment_orders: ["authenticated"],
  credit_ledger: ["authenticated"],
  credit_balances: ["authenticated"],
};

function exposureFindings(facts: DoctorFacts): IncidentInput[] {
  const beyondIntent = (
    kind: "table" | "sequence",
    name: string,
    grants: RoleGrants,
  ): IncidentInput | null => {
    const readers = kind === "table" ? (INTENDED_READS[name] ?? []) : [];
    const extra = (Object.entries(grants) as Array<[keyof RoleGrants, string[]]>)
      .map(([role, privileges]) => ({
        role,
        privileges: privileges.filter((privilege) => !(privilege === "select" && readers.includes(role))),
      }))
      .filter((grant) => grant.privileges.length > 0);
    if (extra.length === 0) return null;
    const what = extra.map((grant) => `${grant.role}: ${grant.privileges.join(", ")}`).join("; ");
    const revokes = extra
      .map(
        (grant) =>
          `revoke ${grant.privileges.join(", ")} on ${kind === "sequence" ? "sequence " : ""}payguard.${name} from ${grant.role};`,
      )
      .join(" ");
    return finding(
      `${kind}_exposed`,
      name,
      `payguard.${name} can be used around its functions (${what})`,
      revokes,
    );
  };
  return [
    ...facts.tables.map((table) => beyondIntent("table", table.name, table.grants)),
    ...facts.sequences.map((sequence) => beyondIntent("sequence", sequence.name, sequence.grants)),
  ].filter((found): found is IncidentInput => found !== null);
}

/** Pure: the facts the database reported, turned into one finding per problem. */
export function doctorFindings(
  facts: DoctorFacts,
  expected: { migration: string; functions: readonly string[] } = {
    migration: EXPECTED_MIGRATION,
    functions: EXPECTED_FUNCTIONS,
  },
): IncidentInput[] {
  const rls = facts.tables
    .filter((table) => !table.rls)
    .map((table) =>
      finding(
        "rls_disabled",
        table.name,
        `Row-level security is off on payguard.${table.name}`,
        `alter table payguard.${table.name} enable row level security;`,
      ),
    );
  const hook =
    facts.app_hook.defined && !facts.app_hook.callable
      ? [
          finding(
            "app_hook",
            "",
            "The app hook payguard_app.on_settled(jsonb) is defined but payguard's functions cannot call it",
            "grant usage on schema payguard_app and execute on function payguard_app.on_settled(jsonb) to the owner of the payguard functions",
          ),
        ]
      : [];
  return [
    ...migrationFindings(facts.migrations, expected.migration),
    ...functionFindings(facts.functions, expected.functions),
    ...exposureFindings(facts),
    ...rls,
    ...hook,
  ];
}

/** What a failed call to payguard.doctor() itself says about the installation; null when it says nothing. */
export function callFinding(error: InfraError): IncidentInput | null {
  if (error.code === "PGRST106")
    return finding(
      "schema_not_exposed",
      "",
      `The Data API does not expose schema ${PAYGUARD_SCHEMA} (406 PGRST106): every payguard call fails`,
      `add ${PAYGUARD_SCHEMA} to Exposed schemas (Dashboard → Project Settings → Data API, or [api] schemas in supabase/config.toml)`,
    );
  if (error.code === "PGRST202")
    return finding("function_missing", "doctor", "Function payguard.doctor is missing", APPLY_MIGRATIONS);
  if (error.code === "42501")
    return finding(
      "function_not_executable",
      "doctor",
      "service_role cannot execute payguard.doctor(text)",
      "grant execute on function payguard.doctor(text) to service_role;",
    );
  return null;
}

/** Findings that keep a webhook's call failing, so the `data_api:` incidents stay open while one is found. */
const DATA_API_BLOCKING_CHECKS: ReadonlySet<string> = new Set([
  "migrations",
  "function_missing",
  "function_not_executable",
]);

export interface DoctorReport {
  failing: string[];
  /** Set when the database could not be asked: the incidents of the previous run stay as they were. */
  unchecked: string | null;
}

export async function runDoctor(deps: Deps, nowMs: number): Promise<DoctorReport> {
  const facts = await deps.ops.doctor(EXPECTED_MIGRATION);
  if (!facts.ok) {
    const found = callFinding(facts.error);
    if (!found) return { failing: [], unchecked: `${facts.error.code}: ${facts.error.message}` };
    await setIncident(deps, found.key, found, nowMs);
    return { failing: [found.key], unchecked: "the doctor could not read the database" };
  }
  const findings = doctorFindings(facts.value);
  await syncIncidents(deps, DOCTOR_PREFIX, findings, nowMs);
  if (!findings.some((found) => DATA_API_BLOCKING_CHECKS.has(String(found.detail.check))))
    await syncIncidents(deps, DATA_API_PREFIX, [], nowMs);
  return { failing: findings.map((found) => found.key), unchecked: null };
}
