/**
 * AlertSink that records incidents in the `incidents` table. A failed write is returned, never swallowed:
 * the caller answers 5xx so the provider redelivers and the incident is written on the retry.
 */
import type { AlertSink, LedgerStore } from "../ledger/ports.ts";
import { ok } from "../ledger/result.ts";
import { log } from "../log.ts";

export function createStoreAlertSink(store: LedgerStore): AlertSink {
  return {
    async raise(incident, nowMs) {
      const result = await store.openIncident({ ...incident, nowMs });
      if (!result.ok) return result;
      if (result.value.opened)
        log("warn", "incident_opened", { key: incident.key, severity: incident.severity });
      return ok(undefined);
    },
    async resolve(key, nowMs) {
      const result = await store.resolveIncident({ key, nowMs });
      return result.ok ? ok(undefined) : result;
    },
    acknowledge: (key, actor, nowMs) => store.acknowledgeIncident({ key, actor, nowMs }),
    mute: (key, untilMs, actor, nowMs) => store.muteIncident({ key, untilMs, actor, nowMs }),
  };
}
