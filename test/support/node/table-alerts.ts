/**
 * An AlertSink that writes incidents straight to the incidents table through the store, as the AlertDesk
 * mirrors them: for Node-side runs of the audit (its SQL tests and `npm run bench:audit`) with no desk.
 */
import type { AlertSink, LedgerStore } from "../../../src/ledger/ports.ts";
import { ok } from "../../../src/ledger/result.ts";

export function tableAlerts(store: LedgerStore): AlertSink {
  return {
    async raise(incident, nowMs) {
      const opened = await store.openIncident({ ...incident, nowMs });
      return opened.ok ? ok(undefined) : opened;
    },
    async resolve(key, nowMs) {
      const resolved = await store.resolveIncident({ key, nowMs });
      return resolved.ok ? ok(undefined) : resolved;
    },
  } as AlertSink;
}
