/**
 * The Data API refusing payguard (schema not exposed, a function missing, a grant revoked, the key refused)
 * or the database behind it unreachable: one `data_api:` incident per class, whose summary ends in the fix.
 * Pure: the incident for a fault, and the per-isolate watch that decides when a failed delivery raises one
 * and which open ones a settled delivery resolves (clock passed in).
 */
import { PAYGUARD_SCHEMA } from "../deps.ts";
import type { IncidentInput } from "../ledger/ports.ts";
import type { DataApiFault, InfraError } from "../ledger/result.ts";

export const DATA_API_PREFIX = "data_api:";

export const dataApiIncidentKey = (fault: DataApiFault): string => `${DATA_API_PREFIX}${fault}`;

/**
 * Failed deliveries in a row (none settled between) whose database could not be reached before
 * `data_api:unavailable` opens: one blip is retried by the provider and needs nobody.
 */
export const DATA_API_UNAVAILABLE_STREAK_MIN = 3;
/**
 * How long this isolate trusts its last raise of a class before raising it again on the next failure:
 * the desk dedups by key, and a person or another isolate may have resolved it meanwhile.
 */
export const DATA_API_RAISE_INTERVAL_MS = 60_000;

const APPLY_MIGRATIONS =
  "apply supabase/migrations (`npm run db:migrate`, or `supabase db push`) before deploying the code";

const TEXT: Record<DataApiFault, { summary: string; fix: string }> = {
  schema_not_exposed: {
    summary: `The Data API does not expose schema ${PAYGUARD_SCHEMA} (406 PGRST106): no payment is credited, providers keep retrying`,
    fix: `expose schema ${PAYGUARD_SCHEMA} in the Data API settings (Dashboard → Project Settings → Data API → Exposed schemas, or [api] schemas in supabase/config.toml)`,
  },
  function_missing: {
    summary:
      "A payguard function the code calls is missing (404 PGRST202 / 42883): the database is behind the deployed code, providers keep retrying",
    fix: APPLY_MIGRATIONS,
  },
  permission_denied: {
    summary:
      "service_role may not execute a payguard function (42501, 403): no payment is credited, providers keep retrying",
    fix: "restore the grant (`grant execute on function payguard.<name>(…) to service_role;`, or re-apply supabase/migrations); run the doctor (POST /admin/api/doctor) to name each function",
  },
  key_rejected: {
    summary: "Supabase refuses payguard's API key (401): no payment is credited, providers keep retrying",
    fix: "set SUPABASE_SECRET_KEY to the project's secret key (sb_secret_…, Dashboard → Project Settings → API Keys) with `wrangler secret put SUPABASE_SECRET_KEY`",
  },
  unavailable: {
    summary:
      "The database behind the Data API cannot be reached (503 PGRST000 / PGRST001, timeouts): no payment is credited, providers keep retrying",
    fix: "check the database (project paused or restarting, connection limit reached, Supabase status page)",
  },
};

/** The incident for one class; `error` is the failure that raised it (its code and message, no secret). */
export function dataApiIncident(fault: DataApiFault, error: InfraError): IncidentInput {
  const { summary, fix } = TEXT[fault];
  return {
    key: dataApiIncidentKey(fault),
    kind: `data_api_${fault}`,
    severity: "critical",
    summary: `${summary}. Fix: ${fix}`,
    detail: { fault, code: error.code, message: error.message, fix },
  };
}

/** What one isolate knows about the Data API from its deliveries. */
export interface DataApiWatch {
  /** A delivery failed with `error`: the incident to raise now, or null when there is none to raise. */
  failed(error: InfraError, nowMs: number): IncidentInput | null;
  /** A delivery settled: the keys of the incidents this isolate raised, to resolve (none: no cost). */
  settled(): string[];
  /** A resolve did not go through: keep the key for the next settled delivery. */
  unresolved(key: string, nowMs: number): void;
}

export function createDataApiWatch(): DataApiWatch {
  const raisedAtMs = new Map<string, number>();
  let unavailableStreak = 0;
  return {
    failed(error, nowMs) {
      const { fault } = error;
      if (!fault) return null;
      if (fault === "unavailable") {
        unavailableStreak += 1;
        if (unavailableStreak < DATA_API_UNAVAILABLE_STREAK_MIN) return null;
      }
      const key = dataApiIncidentKey(fault);
      const last = raisedAtMs.get(key);
      if (last !== undefined && nowMs - last < DATA_API_RAISE_INTERVAL_MS) return null;
      raisedAtMs.set(key, nowMs);
      return dataApiIncident(fault, error);
    },
    settled() {
      unavailableStreak = 0;
      if (raisedAtMs.size === 0) return [];
      const keys = [...raisedAtMs.keys()];
      raisedAtMs.clear();
      return keys;
    },
    unresolved(key, nowMs) {
      if (!raisedAtMs.has(key)) raisedAtMs.set(key, nowMs);
    },
  };
}
