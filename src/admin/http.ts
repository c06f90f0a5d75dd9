/**
 * HTTP plumbing shared by the admin API routers (bearer authentication: src/admin/api/bearer.ts): zod
 * validation with one 400 shape, the input schemas both the API and the dashboard use, and the mapping
 * of an action's outcome to a status code.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { getDeps } from "../deps.ts";
import { rejectInvalid, requireJson } from "../http/request-body.ts";
import { log } from "../log.ts";
import type { ActionContext, ActionFailure, ActionResult } from "./actions.ts";

export type AdminEnv = { Bindings: Env; Variables: { actor: string } };

/**
 * zod validation for one request part; failures answer 400 with the offending fields (a JSON body that is
 * not JSON: `invalid_json`), nothing is written (src/http/request-body.ts).
 */
export function valid<T extends z.ZodType, Target extends "json" | "query" | "form" | "param">(
  target: Target,
  schema: T,
) {
  const validate = zValidator(target, schema, rejectInvalid);
  return target === "json" ? requireJson(validate) : validate;
}

/** Malformed JSON and other framework 4xx keep their status instead of becoming a 500. */
export function adminOnError(error: Error, c: Context): Response {
  if (error instanceof HTTPException && error.status < 500) {
    return c.json({ error: "bad_request", message: error.message }, error.status);
  }
  throw error;
}

export const ORDER_ID = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, "order id format");
/** Why: every mutating call says it, and it is kept with the action. */
export const REASON = z.string().trim().min(3).max(500);
export const orderParam = z.object({ id: ORDER_ID });

/** What an action needs from an API or a dashboard request: the bindings and who is acting. */
export function actionContext(c: { env: Env; var: { actor: string } }, reason: string): ActionContext {
  const deps = getDeps(c.env);
  return {
    env: c.env,
    deps,
    admin: deps.admin,
    actor: c.var.actor,
    reason,
    nowMs: Date.now(),
  };
}

const FAILURE_STATUS: Record<ActionFailure["kind"], ContentfulStatusCode> = {
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  misconfigured: 503,
};

export function actionResponse(c: Context, result: ActionResult): Response {
  if (result.ok) return c.json({ outcome: result.outcome, detail: result.detail });
  log("warn", "admin_action_failed", {
    path: c.req.path,
    kind: result.error.kind,
    detail: result.error.detail,
  });
  return c.json(
    { error: result.error.kind, message: result.error.detail },
    FAILURE_STATUS[result.error.kind],
  );
}

export function unavailable(c: Context, detail: string): Response {
  log("warn", "admin_read_failed", { path: c.req.path, detail });
  return c.json({ error: "unavailable", message: "temporarily unavailable, retry later" }, 503);
}
