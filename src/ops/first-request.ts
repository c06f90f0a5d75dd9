/**
 * The doctor's first run: at the first request an isolate serves after a deploy, in the background
 * (waitUntil), so a broken installation opens its incidents within seconds instead of at the next hour.
 */
import { getDeps } from "../deps.ts";
import { log } from "../log.ts";
import { runJob } from "../reconcile/scheduled.ts";
import { JOBS } from "./jobs.ts";

let started = false;

export function doctorOnFirstRequest(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): void {
  if (started) return;
  started = true;
  const run = async () => {
    try {
      await runJob("doctor", JOBS.doctor, env, getDeps(env), Date.now(), Date.now);
    } catch (error) {
      // A configuration error is answered by the request itself; nothing more to say here.
      log("warn", "doctor_not_run", { error: (error as Error).message });
    }
  };
  ctx.waitUntil(run());
}
