/**
 * Acts on a verified Slack click: maps the Slack user to an operator (`SLACK_OPERATORS`; anyone else is
 * refused with a message only they see), checks that the incident still offers that action (the same rule
 * that put the button there, so no crafted click can do more), runs it through the console's own code path
 * (src/admin/actions.ts: written to admin_actions as `slack:<name>`), and updates the original message
 * through `response_url` to say who did what. A failure is shown to the clicker only.
 */
import { type ActionContext, type ActionResult, syncOrder, triageIncident } from "../admin/actions.ts";
import type { Deps } from "../deps.ts";
import { log } from "../log.ts";
import type { DeskIncident } from "./alert-desk.ts";
import { slackEscape } from "./channels/slack.ts";
import { annotateBlocks } from "./channels/slack-blocks.ts";
import { ALERT_SEND_TIMEOUT_MS } from "./channels/types.ts";
import { CHAT_MUTE_MINUTES, CHAT_WORDS, type ChatAction, chatActions, orderOf } from "./chat-actions.ts";
import { deskStub } from "./desk-sink.ts";
import type { AlertLanguage, SlackAppSettings } from "./settings.ts";
import type { SlackClick } from "./slack-payload.ts";

/** POSTs a message to the click's `response_url`; Slack allows a few per click within 30 minutes. */
async function respond(url: string, message: Record<string, unknown>): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(ALERT_SEND_TIMEOUT_MS),
    });
    if (!response.ok) log("warn", "slack_response_refused", { status: response.status });
  } catch (error) {
    log("warn", "slack_response_failed", { error: (error as Error).name });
  }
}

const ephemeral = (url: string, text: string) =>
  respond(url, { response_type: "ephemeral", replace_original: false, text: slackEscape(text) });

function run(
  ctx: ActionContext,
  action: ChatAction,
  key: string,
  orderId: string | null,
): Promise<ActionResult> {
  if (action === "acknowledge") return triageIncident(ctx, key, { kind: "acknowledge" });
  if (action === "mute_1h") return triageIncident(ctx, key, { kind: "mute", minutes: CHAT_MUTE_MINUTES });
  return syncOrder(ctx, orderId ?? "");
}

function doneNote(language: AlertLanguage, action: ChatAction, name: string, result: ActionResult): string {
  const done = CHAT_WORDS[language].done;
  const who = `slack:${name}`;
  if (action === "sync_order") return done.sync_order(who, result.ok ? result.outcome : "");
  return done[action](who);
}

export interface InteractionContext {
  env: Env;
  deps: Deps;
  app: SlackAppSettings;
  language: AlertLanguage;
  nowMs: number;
}

/** Everything after verification and replay protection; never throws (it runs after Slack got its 200). */
export async function handleSlackClick(context: InteractionContext, click: SlackClick): Promise<void> {
  const words = CHAT_WORDS[context.language];
  if (click.action === "open") return;
  const name = context.app.operators.get(click.userId);
  if (!name) {
    log("warn", "slack_unknown_user", { user: click.userId });
    return ephemeral(click.responseUrl, words.unknownUser);
  }
  let incident: DeskIncident | null = null;
  try {
    incident = click.key ? await deskStub(context.env.ALERT_DESK).incident(click.key) : null;
  } catch (error) {
    log("error", "slack_incident_lookup_failed", { error: (error as Error).message });
    return ephemeral(click.responseUrl, words.failed(words[click.action], words.unavailable));
  }
  if (!click.key || !incident) return ephemeral(click.responseUrl, words.unknownIncident);
  const detail = JSON.parse(incident.detailJson) as Record<string, unknown>;
  const event = incident.status === "open" ? "opened" : "resolved";
  if (!chatActions({ kind: incident.kind, detail, event }).includes(click.action))
    return ephemeral(click.responseUrl, words.notOffered);
  const ctx: ActionContext = {
    env: context.env,
    deps: context.deps,
    admin: context.deps.admin,
    actor: `slack:${name}`,
    reason: `Slack: ${click.action} by ${name} (${click.userId})`,
    nowMs: context.nowMs,
  };
  const result = await run(ctx, click.action, click.key, orderOf(detail));
  log("info", "slack_action", { action: click.action, key: click.key, actor: ctx.actor, ok: result.ok });
  if (!result.ok)
    return ephemeral(click.responseUrl, words.failed(words[click.action], result.error.detail.slice(0, 200)));
  if (!click.message)
    return ephemeral(click.responseUrl, doneNote(context.language, click.action, name, result));
  const note = slackEscape(doneNote(context.language, click.action, name, result));
  await respond(click.responseUrl, {
    replace_original: true,
    text: click.message.text,
    blocks: annotateBlocks(click.message.blocks, click.blockId, note),
  });
}
