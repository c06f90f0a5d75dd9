/**
 * The webhooks' side of the `data_api:` incidents (src/ops/data-api.ts): a delivery that failed because
 * the Data API refuses payguard raises its class's incident, a delivery that settled resolves the ones
 * this isolate raised. Nothing happens on the success path while nothing is open (one map lookup).
 *
 * The desk mirrors each incident into the database, which may be what is broken: it keeps the write
 * journalled and answers transient, so a raise can take up to a database call. The answer to the provider
 * waits for it at most DATA_API_ALERT_WAIT_MS_MAX and the rest finishes under waitUntil. Raises and
 * resolves of this isolate go to the desk one after another, so a resolve never overtakes its raise.
 */
import type { Deps } from "../deps.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { log } from "../log.ts";
import { createDataApiWatch } from "../ops/data-api.ts";

/** Longest a webhook answer waits for a `data_api:` raise or resolve; the call carries on in the background. */
export const DATA_API_ALERT_WAIT_MS_MAX = 1_000;

/** Where work that must outlive the answer goes (the request's `executionCtx`). */
export interface Background {
  waitUntil(promise: Promise<unknown>): void;
}

const watch = createDataApiWatch();
let deskQueue: Promise<unknown> = Promise.resolve();

function inDeskQueue(work: () => Promise<void>, background: Background): Promise<void> {
  const run = deskQueue.then(work, work);
  deskQueue = run.catch(() => undefined);
  background.waitUntil(run);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DATA_API_ALERT_WAIT_MS_MAX);
  });
  return Promise.race([run, late]).finally(() => clearTimeout(timer));
}

const logged = (event: string, key: string, result: Result<void, InfraError>): void => {
  if (!result.ok) log("warn", event, { key, code: result.error.code, message: result.error.message });
};

/** A delivery failed with `error`: raises its `data_api:` incident when it is one (rare, throttled). */
export function dataApiFailed(
  deps: Deps,
  error: InfraError,
  nowMs: number,
  background: Background,
): Promise<void> {
  const incident = watch.failed(error, nowMs);
  if (!incident) return Promise.resolve();
  log("error", "data_api_misconfigured", { key: incident.key, code: error.code, message: error.message });
  return inDeskQueue(async () => {
    // Not ok when the mirror is what is broken: the desk has it and writes the mirror once it can.
    logged("data_api_incident_pending", incident.key, await deps.alerts.raise(incident, nowMs));
  }, background);
}

/** A delivery settled: the Data API works again, so the incidents this isolate raised are resolved. */
export function dataApiSettled(deps: Deps, nowMs: number, background: Background): Promise<void> {
  const keys = watch.settled();
  if (keys.length === 0) return Promise.resolve();
  return inDeskQueue(async () => {
    for (const key of keys) {
      const resolved = await deps.alerts.resolve(key, nowMs);
      logged("data_api_resolve_pending", key, resolved);
      if (!resolved.ok) watch.unresolved(key, nowMs);
    }
  }, background);
}
