/**
 * Hourly ledger audit: one incident per `audit_ledger` finding (`audit:<kind>:<subject>`), resolved once
 * the finding is gone. Two findings are repaired here because the repair is provably right (`repairFor`);
 * everything else waits for an operator.
 */
import type { Deps } from "../deps.ts";
import { deliverIncidents } from "../ledger/incident-outbox.ts";
import { type AuditFinding, auditIncidentKey, type IncidentInput } from "../ledger/ports.ts";
import type { Provider } from "../ledger/types.ts";
import { syncIncidents } from "./incidents.ts";

export const AUDIT_PREFIX = "audit:";
const CRITICAL_KINDS = new Set([
  "balance_mismatch",
  "fulfilled_without_grant",
  "grant_without_fulfilled_order",
  "held_payment",
  "refund_failure_unapplied",
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

/**
 * The findings the audit repairs itself, because the repair is what the recorded facts already imply: the
 * grant of a fulfilled order, and a refund failure recorded beside a refund still counted.
 */
function repairFor(deps: Deps, finding: AuditFinding, nowMs: number) {
  switch (finding.kind) {
    case "fulfilled_without_grant":
      return deps.store.repairMissingGrant({ orderId: finding.subject, nowMs });
    case "refund_failure_unapplied": {
      const [provider, ...ref] = finding.subject.split(":");
      return deps.store.repairRefundFailure({
        provider: provider as Provider,
        refundRef: ref.join(":"),
        nowMs,
      });
    }
    default:
      return null;
  }
}

export async function auditLedger(deps: Deps, nowMs: number) {
  const audit = await deps.store.auditLedger({ nowMs });
  if (!audit.ok) throw new Error(`audit_ledger: ${audit.error.message}`);
  const findings = audit.value;
  // Raise first, so even a repaired finding leaves its (resolved) incident as the record of the repair.
  await syncIncidents(deps, AUDIT_PREFIX, findings.map(incidentFor), nowMs);
  let repaired = 0;
  for (const finding of findings) {
    const repair = repairFor(deps, finding, nowMs);
    if (!repair) continue;
    const result = await repair;
    if (!result.ok) throw new Error(`repair ${finding.subject}: ${result.error.message}`);
    if (result.value.outcome === "noop") continue;
    repaired += 1;
    await deliverIncidents(result.value.incidents, nowMs, deps);
  }
  if (repaired > 0) {
    const after = await deps.store.auditLedger({ nowMs });
    if (!after.ok) throw new Error(`audit_ledger: ${after.error.message}`);
    await syncIncidents(deps, AUDIT_PREFIX, after.value.map(incidentFor), nowMs);
  }
  return { findings: findings.length, repaired, kinds: [...new Set(findings.map((f) => f.kind))] };
}
