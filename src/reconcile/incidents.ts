/**
 * Keeps the open incidents of one family (a key prefix) equal to what a check found this time: every
 * finding is raised (the sink dedups an open key), every open key it checked and did not find is resolved.
 * A check of the whole family checked every open key; a check of part of it names the open keys it checked.
 */
import type { Deps } from "../deps.ts";
import type { IncidentInput } from "../ledger/ports.ts";

/** What a check looked at: the whole family, or only these open keys (a check of some subjects). */
export type CheckedScope = "all" | { openKeys: readonly string[] };

async function openKeysIn(deps: Deps, prefix: string, scope: CheckedScope): Promise<readonly string[]> {
  if (scope !== "all") return scope.openKeys.filter((key) => key.startsWith(prefix));
  const open = await deps.store.listOpenIncidentKeys(prefix);
  if (!open.ok) throw new Error(`open incidents: ${open.error.message}`);
  return open.value;
}

export async function syncIncidents(
  deps: Deps,
  prefix: string,
  findings: IncidentInput[],
  nowMs: number,
  scope: CheckedScope = "all",
): Promise<{ raised: number; resolved: number }> {
  for (const finding of findings) {
    if (!finding.key.startsWith(prefix)) throw new Error(`incident ${finding.key} outside ${prefix}`);
    const raised = await deps.alerts.raise(finding, nowMs);
    if (!raised.ok) throw new Error(`raise ${finding.key}: ${raised.error.message}`);
  }
  const open = await openKeysIn(deps, prefix, scope);
  const found = new Set(findings.map((finding) => finding.key));
  let resolved = 0;
  for (const key of open.filter((k) => !found.has(k))) {
    const done = await deps.alerts.resolve(key, nowMs);
    if (!done.ok) throw new Error(`resolve ${key}: ${done.error.message}`);
    resolved += 1;
  }
  return { raised: findings.length, resolved };
}

/** Resolves exactly one key when its check passed, raises it when it did not. */
export async function setIncident(
  deps: Deps,
  key: string,
  finding: Omit<IncidentInput, "key"> | null,
  nowMs: number,
): Promise<void> {
  const result = finding
    ? await deps.alerts.raise({ ...finding, key }, nowMs)
    : await deps.alerts.resolve(key, nowMs);
  if (!result.ok) throw new Error(`incident ${key}: ${result.error.message}`);
}
