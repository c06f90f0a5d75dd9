/**
 * `POST /slack/interactions`: the Slack app's Interactivity Request URL (the buttons on alert messages).
 * Verify first (src/alerts/slack-verify.ts), then refuse a replay (the AlertDesk remembers every verified
 * signature for longer than Slack's 5-minute window), then parse. Slack wants its 200 within 3 seconds, so
 * the action and the message update run after the answer (src/alerts/slack-interaction.ts).
 * 404 when no signing secret is configured, 401 for a missing, forged or stale signature (nothing read),
 * 503 when the desk cannot say whether the request is a replay (Slack shows the click failed; try again).
 */
import { Hono } from "hono";
import { deskStub } from "../alerts/desk-sink.ts";
import { handleSlackClick } from "../alerts/slack-interaction.ts";
import { parseSlackClick } from "../alerts/slack-payload.ts";
import { verifySlackRequest } from "../alerts/slack-verify.ts";
import { getDeps } from "../deps.ts";
import { log } from "../log.ts";
import { readBodyLimited } from "./body.ts";

/** Interaction payloads carry the whole original message; a digest is well under this. */
export const SLACK_INTERACTION_BODY_BYTES_MAX = 256 * 1024;

export const slackInteractionRoutes = new Hono<{ Bindings: Env }>().post("/", async (c) => {
  const deps = getDeps(c.env);
  const app = deps.config.alerts.slackApp;
  if (!app) return c.json({ error: "not_found", message: "Slack interactivity is not configured" }, 404);
  const body = await readBodyLimited(c.req.raw, SLACK_INTERACTION_BODY_BYTES_MAX);
  if (!body.ok) return c.text("payload too large", 413);
  const nowMs = Date.now();
  const verdict = await verifySlackRequest(
    app.signingSecret,
    { timestamp: c.req.header("x-slack-request-timestamp"), signature: c.req.header("x-slack-signature") },
    body.text,
    nowMs,
  );
  if (!verdict.ok) {
    log("warn", "slack_request_refused", { reason: verdict.reason });
    return c.text("invalid request signature", 401);
  }
  let fresh: boolean;
  try {
    fresh = await deskStub(c.env.ALERT_DESK).claimSlackRequest(verdict.signature, nowMs);
  } catch (error) {
    log("error", "slack_replay_check_failed", { error: (error as Error).message });
    return c.text("try again", 503);
  }
  if (!fresh) {
    log("warn", "slack_request_replayed", {});
    return c.body(null, 200);
  }
  const parsed = parseSlackClick(body.text);
  if (!parsed.ok) {
    log("warn", "slack_payload_ignored", { reason: parsed.reason });
    return c.body(null, 200);
  }
  const slack = deps.config.alerts.channels.find((channel) => channel.name === "slack");
  const context = { env: c.env, deps, app, language: slack?.language ?? "en", nowMs } as const;
  c.executionCtx.waitUntil(
    handleSlackClick(context, parsed.click).catch((error: unknown) =>
      log("error", "slack_action_crashed", { error: (error as Error).message }),
    ),
  );
  return c.body(null, 200);
});
