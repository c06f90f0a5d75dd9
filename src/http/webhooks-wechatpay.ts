/**
 * `POST /webhooks/wechatpay`: raw body → signature → decrypt → OrderGuard (inbox record, settlement and
 * inbox finish in one database call; a known redelivery answered by the guard) → 204.
 * WeChat reads only the status: 204 = received; 4xx for what it sent wrong (never retried into success,
 * nothing written); 5xx when we could not record it or the Data API refuses payguard (WeChat retries for
 * 24 h; a `data_api:` incident names the fix). WeChat waits 5 s, so an answer that is not ready in time is
 * a 5xx while the work carries on in the background.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type Deps, getDeps } from "../deps.ts";
import { settleEventInGuard } from "../guard/settle-order.ts";
import { type InfraError, retryLater } from "../ledger/result.ts";
import { settleEvent } from "../ledger/settle.ts";
import type { ProviderEvent } from "../ledger/types.ts";
import { log } from "../log.ts";
import { parseWechatNotification, type WechatNotice } from "../providers/wechatpay/notify.ts";
import { readBodyLimited } from "./body.ts";
import { type Background, dataApiFailed, dataApiSettled } from "./data-api-alerts.ts";
import { webhookAnswerFor } from "./errors.ts";

export const WECHATPAY_NOTIFY_BODY_MAX_BYTES = 64 * 1024;
/** WeChat gives up after 5 s; answer before that and let slow work finish under waitUntil. */
export const WECHATPAY_ANSWER_BUDGET_MS = 4_000;

type Answer = { status: 204 } | { status: ContentfulStatusCode; message: string };

/** A step that could not be done: retried (503) unless it can never succeed, then acknowledged. */
async function failed(
  deps: Deps,
  error: InfraError,
  message: string,
  nowMs: number,
  background: Background,
): Promise<Answer> {
  log("error", "wechatpay_event_failed", { kind: error.kind, code: error.code, message: error.message });
  await dataApiFailed(deps, error, nowMs, background);
  switch (webhookAnswerFor(error.kind)) {
    case "retry":
      return { status: 503, message };
    case "acknowledge":
      // Nothing payguard could ever do with it: recorded as failed in the inbox for the audit.
      return { status: 204 };
  }
}

function fail(c: Context, status: ContentfulStatusCode, message: string): Response {
  return c.json({ code: "FAIL", message }, status);
}

/** The notice as one provider event: a fact settles through its order's OrderGuard, an ignored one alone. */
function providerEvent(notice: WechatNotice & { kind: "fact" | "ignored" }): ProviderEvent {
  const base = {
    provider: "wechatpay" as const,
    eventId: notice.eventId,
    eventType: notice.eventType,
    source: "webhook" as const,
  };
  if (notice.kind === "ignored") return { ...base, locator: NO_LOCATOR, facts: [], note: notice.reason };
  return { ...base, locator: { ...NO_LOCATOR, claimedOrderId: notice.fact.orderId }, facts: [notice.fact] };
}

const NO_LOCATOR = { by: null, ref: null, claimedOrderId: null };

/** An incident notice (a refund that failed or closed at WeChat): stored before the row is finished. */
async function handleIncident(
  deps: Deps,
  notice: WechatNotice & { kind: "incident" },
  nowMs: number,
  background: Background,
): Promise<Answer> {
  const inbox = await deps.store.recordEvent({
    provider: "wechatpay",
    eventId: notice.eventId,
    eventType: notice.eventType,
    orderId: notice.orderId,
    nowMs,
  });
  const unrecorded = "could not record the notification";
  if (!inbox.ok) return failed(deps, retryLater(inbox.error), unrecorded, nowMs, background);
  if (inbox.value === "duplicate") return { status: 204 };
  const raised = await deps.alerts.raise(notice.incident, nowMs);
  if (!raised.ok)
    return failed(deps, retryLater(raised.error), "could not record the incident", nowMs, background);
  const finished = await deps.store.finishEvent({
    provider: "wechatpay",
    eventId: notice.eventId,
    status: "processed",
    nowMs,
  });
  if (!finished.ok) return failed(deps, retryLater(finished.error), unrecorded, nowMs, background);
  await dataApiSettled(deps, nowMs, background);
  return { status: 204 };
}

async function handleNotice(
  env: Env,
  deps: Deps,
  notice: WechatNotice,
  nowMs: number,
  background: Background,
): Promise<Answer> {
  if (notice.kind === "incident") return handleIncident(deps, notice, nowMs, background);
  const event = providerEvent(notice);
  const settled =
    notice.kind === "fact"
      ? await settleEventInGuard(env, event, nowMs)
      : await settleEvent(event, nowMs, deps);
  if (!settled.ok) return failed(deps, settled.error, "could not settle the order", nowMs, background);
  const answer = settled.value;
  log("info", "wechatpay_event", {
    event_id: notice.eventId,
    type: notice.eventType,
    order_id: event.locator.claimedOrderId,
    outcome:
      answer.status === "done" ? answer.results.map((r) => r.outcome).join(",") || "ignored" : answer.status,
  });
  // Every WeChat fact names its order (out_trade_no), so `unlocated` cannot happen; were it to, retry.
  if (answer.status === "unlocated") return { status: 503, message: "order not located" };
  if (answer.status === "done") await dataApiSettled(deps, nowMs, background);
  return { status: 204 };
}

export const wechatWebhookRoutes = new Hono<{ Bindings: Env }>().post("/", async (c) => {
  const nowMs = Date.now();
  const deps = getDeps(c.env);
  if (!deps.config.wechat) return fail(c, 404, "wechatpay is not enabled");
  const body = await readBodyLimited(c.req.raw, WECHATPAY_NOTIFY_BODY_MAX_BYTES);
  if (!body.ok) return fail(c, 413, "payload too large");
  const parsed = await parseWechatNotification(
    { headers: c.req.raw.headers, rawBody: body.text, nowMs },
    deps.config.wechat,
  );
  if (!parsed.ok) {
    log("warn", "wechatpay_rejected", { reason: parsed.reason });
    const signatureProblem = parsed.reason !== "malformed_json" && parsed.reason !== "malformed_resource";
    return fail(c, signatureProblem ? 401 : 400, "notification rejected");
  }
  const work = handleNotice(c.env, deps, parsed.notice, nowMs, c.executionCtx);
  c.executionCtx.waitUntil(
    work.catch((error: unknown) => log("error", "wechatpay_failed", { message: String(error) })),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Answer>((resolve) => {
    const late: Answer = { status: 503, message: "still processing, retry later" };
    timer = setTimeout(() => resolve(late), WECHATPAY_ANSWER_BUDGET_MS);
  });
  const answer = await Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  return answer.status === 204 ? c.body(null, 204) : fail(c, answer.status, answer.message);
});
