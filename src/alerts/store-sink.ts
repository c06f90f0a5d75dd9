/**
 * AlertSink that records incidents in the `incidents` table. An incident that cannot be written is logged
 * and not retried here: the hourly audit re-derives every open problem from the ledger itself.
 */
import type { AlertSink, LedgerStore } from "../ledger/ports.ts";
import { log } from "../log.ts";

export function createStoreAlertSink(store: LedgerStore): AlertSink {
  return {
    async raise(incident, nowMs) {
      const result = await store.openIncident({ ...incident, nowMs });
      if (!result.ok)
        log("error", "incident_not_recorded", { key: incident.key, error: result.error.message });
      else if (result.value.opened)
        log("warn", "incident_opened", { key: incident.key, severity: incident.severity });
    },
    async resolve(key, nowMs) {
      const result = await store.resolveIncident({ key, nowMs });
      if (!result.ok) log("error", "incident_not_resolved", { key, error: result.error.message });
    },
  };
}
