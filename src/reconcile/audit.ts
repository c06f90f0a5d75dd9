/**
 * Hourly ledger audit: one incident per `audit_ledger` finding (`audit:<kind>:<subject>`), resolved once
 * the finding is gone. Only a fulfilled order without its grant is repaired here, because granting the
 * purchase it was paid for is provably right; everything else waits for an operator.
 */
import type { Deps } from "../deps.ts";
import { type AuditFinding, auditIncidentKey, type IncidentInput } from "../ledger/ports.ts";
import { syncIncidents } from "./incidents.ts";

export const AUDIT_PREFIX = "audit:";
const CRITICAL_KINDS = new Set([
  "balance_mismatch",
  "fulfilled_without_grant",
  "grant_without_fulfilled_order",
  "held_payment",
]);

export function incidentFor(finding: AuditFinding): IncidentInput {
  return {
    key: auditIncidentKey(finding.kind, finding.subject),
    kind: `audit_${finding.kind}`,
    severity: CRITICAL_KINDS.has(finding.kind) ? "critical" : "warning",
    summary: `Ledger audit: ${finding.kind.replaceAll("_", " ")} (${finding.subject})`,
    detail: { ...finding.detail, subject: finding.subject },
  };
}

export async function auditLedger(deps: Deps, nowMs: number) {
  const audit = await deps.store.auditLedger({ nowMs });
  if (!audit.ok) throw new Error(`audit_ledger: ${audit.error.message}`);
  const findings = audit.value;
  // Raise first, so even a repaired finding leaves its (resolved) incident as the record of the repair.
  await syncIncidents(deps, AUDIT_PREFIX, findings.map(incidentFor), nowMs);
  let repaired = 0;
  for (const finding of findings.filter((f) => f.kind === "fulfilled_without_grant")) {
    const repair = await deps.store.repairMissingGrant({ orderId: finding.subject, nowMs });
    if (!repair.ok) throw new Error(`repair ${finding.subject}: ${repair.error.message}`);
    if (repair.value.outcome === "granted") repaired += 1;
  }
  if (repaired > 0) {
    const after = await deps.store.auditLedger({ nowMs });
    if (!after.ok) throw new Error(`audit_ledger: ${after.error.message}`);
    await syncIncidents(deps, AUDIT_PREFIX, after.value.map(incidentFor), nowMs);
  }
  return { findings: findings.length, repaired, kinds: [...new Set(findings.map((f) => f.kind))] };
}
