/**
 * The reconcile queue's two consumers. Shares (`payguard-reconcile`): each message checks another share
 * of the due orders as the job `reconcile_fanout`; a share that fails, or cannot even start (its
 * configuration does not load), is retried by the queue and, after its retries, moved to the dead-letter
 * queue, never dropped. Dead letters (`payguard-reconcile-dlq`): each opens (or keeps open) one incident,
 * raised straight at the AlertDesk; a later share that runs resolves it. The orders of a lost share are
 * never lost themselves: they stay due for the next tick.
 */
import { createDeskAlertSink } from "../alerts/desk-sink.ts";
import { getDeps } from "../deps.ts";
import type { IncidentInput, JobStatus } from "../ledger/ports.ts";
import { log } from "../log.ts";
import { isReconcileMessage, runFanoutShare } from "./fanout.ts";
import { runJob } from "./scheduled.ts";

export const RECONCILE_QUEUE_NAME = "payguard-reconcile";
export const RECONCILE_DEAD_LETTER_QUEUE = "payguard-reconcile-dlq";
/** One incident for every dead-lettered share until a share runs again. */
export const DEAD_LETTER_INCIDENT_KEY = "reconcile_share_dead_lettered";

export function deadLetterIncident(message: Message, nowMs: number): IncidentInput {
  return {
    key: DEAD_LETTER_INCIDENT_KEY,
    kind: "reconcile_share_dead_lettered",
    severity: "warning",
    summary: `A reconcile queue share failed on every attempt and was dead-lettered (message ${message.id})`,
    detail: {
      message_id: message.id,
      queued_at: new Date(message.timestamp).toISOString(),
      dead_lettered_at: new Date(nowMs).toISOString(),
      body_kind: String((message.body as { kind?: unknown } | null)?.kind ?? "unknown"),
    },
  };
}

async function runShare(env: Env, message: Message): Promise<JobStatus> {
  if (!isReconcileMessage(message.body)) {
    // Nothing here can handle it: the retries send it to the dead-letter queue, whose incident names it.
    log("error", "unknown_queue_message", { queue: RECONCILE_QUEUE_NAME, message_id: message.id });
    return "error";
  }
  try {
    const deps = getDeps(env);
    const status = await runJob("reconcile_fanout", runFanoutShare, env, deps, Date.now(), Date.now);
    if (status !== "error") {
      const resolved = await deps.alerts.resolve(DEAD_LETTER_INCIDENT_KEY, Date.now());
      if (!resolved.ok) log("warn", "dead_letter_incident_not_resolved", { code: resolved.error.code });
    }
    return status;
  } catch (error) {
    // Outside runJob (the configuration does not load): no job run can be written, so the log says why.
    log("error", "reconcile_share_failed", {
      message_id: message.id,
      attempts: message.attempts,
      error: (error as Error).message,
    });
    return "error";
  }
}

/** One share per message; a failed one is retried (and dead-lettered after the queue's max_retries). */
export async function consumeShares(batch: MessageBatch, env: Env): Promise<void> {
  for (const message of batch.messages) {
    if ((await runShare(env, message)) === "error") message.retry();
    else message.ack();
  }
}

/** A dead-lettered share opens its incident; one the AlertDesk did not take is retried. */
export async function consumeDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  const alerts = createDeskAlertSink(env.ALERT_DESK);
  for (const message of batch.messages) {
    log("error", "reconcile_share_dead_lettered", { message_id: message.id });
    const raised = await alerts.raise(deadLetterIncident(message, Date.now()), Date.now());
    if (raised.ok) message.ack();
    else {
      log("error", "dead_letter_incident_not_raised", { message_id: message.id, code: raised.error.code });
      message.retry();
    }
  }
}
