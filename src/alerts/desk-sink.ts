/**
 * The AlertSink every incident source uses: each call goes to the AlertDesk Durable Object. A desk that
 * cannot be reached, or a database mirror that failed, comes back as a transient error so the caller
 * answers 5xx and its provider redelivers.
 */
import type { AlertSink } from "../ledger/ports.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err } from "../ledger/result.ts";

/** One desk per deployment. */
export const ALERT_DESK_NAME = "desk";

async function guarded<T>(call: () => Promise<Result<T, InfraError>>): Promise<Result<T, InfraError>> {
  try {
    return await call();
  } catch (error) {
    return err({ kind: "transient", code: "alert_desk_unavailable", message: (error as Error).message });
  }
}

// Typed through Env, not the AlertDesk class, so Node-side code that builds Deps never loads the DO module.
type DeskNamespace = Env["ALERT_DESK"];

export function deskStub(namespace: DeskNamespace): ReturnType<DeskNamespace["get"]> {
  return namespace.get(namespace.idFromName(ALERT_DESK_NAME));
}

export function createDeskAlertSink(namespace: DeskNamespace): AlertSink {
  return {
    raise: (incident, nowMs) => guarded(() => deskStub(namespace).raise(incident, nowMs)),
    resolve: (key, nowMs) => guarded(() => deskStub(namespace).resolve(key, nowMs)),
    acknowledge: (key, actor, nowMs) => guarded(() => deskStub(namespace).acknowledge(key, actor, nowMs)),
    mute: (key, untilMs, actor, nowMs) => guarded(() => deskStub(namespace).mute(key, untilMs, actor, nowMs)),
  };
}
