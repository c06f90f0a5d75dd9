/**
 * The AlertSink every incident source uses: each call goes to the AlertDesk Durable Object. A desk that
 * cannot be reached, or a database mirror that failed, comes back as a transient error so the caller
 * answers 5xx and its provider redelivers.
 */
import type { AlertSink } from "../ledger/ports.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err } from "../ledger/result.ts";
import { ALERT_DESK_NAME, type AlertDesk } from "./alert-desk.ts";

async function guarded<T>(call: () => Promise<Result<T, InfraError>>): Promise<Result<T, InfraError>> {
  try {
    return await call();
  } catch (error) {
    return err({ kind: "transient", code: "alert_desk_unavailable", message: (error as Error).message });
  }
}

export function deskStub(namespace: DurableObjectNamespace<AlertDesk>): DurableObjectStub<AlertDesk> {
  return namespace.get(namespace.idFromName(ALERT_DESK_NAME));
}

export function createDeskAlertSink(namespace: DurableObjectNamespace<AlertDesk>): AlertSink {
  return {
    raise: (incident, nowMs) => guarded(() => deskStub(namespace).raise(incident, nowMs)),
    resolve: (key, nowMs) => guarded(() => deskStub(namespace).resolve(key, nowMs)),
    acknowledge: (key, actor, nowMs) => guarded(() => deskStub(namespace).acknowledge(key, actor, nowMs)),
    mute: (key, untilMs, actor, nowMs) => guarded(() => deskStub(namespace).mute(key, untilMs, actor, nowMs)),
  };
}
