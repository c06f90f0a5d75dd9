/**
 * One place that maps failures to HTTP. Callers get a generic message; the detail goes to the log.
 * Infrastructure failures are 5xx on purpose: providers retry those, so nothing is lost.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "../env.ts";
import { log } from "../log.ts";

export type HttpFailure =
  | { kind: "bad_request"; detail: string }
  | { kind: "unauthorized"; detail: string }
  | { kind: "not_found"; detail: string }
  | { kind: "payload_too_large"; detail: string }
  | { kind: "unavailable"; detail: string };

const STATUS: Record<HttpFailure["kind"], ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  unavailable: 503,
};

const MESSAGE: Record<HttpFailure["kind"], string> = {
  bad_request: "bad request",
  unauthorized: "unauthorized",
  not_found: "not found",
  payload_too_large: "payload too large",
  unavailable: "temporarily unavailable, retry later",
};

export function failureResponse(c: Context, failure: HttpFailure): Response {
  log("warn", "request_failed", { path: c.req.path, kind: failure.kind, detail: failure.detail });
  return c.json({ error: failure.kind, message: MESSAGE[failure.kind] }, STATUS[failure.kind]);
}

export function onError(error: Error, c: Context): Response {
  if (error instanceof ConfigError) {
    // Variable names are not secret; naming them is what makes a misconfigured deploy quick to fix.
    log("error", "config_invalid", { problems: error.problems });
    return c.json({ error: "misconfigured", problems: error.problems }, 500);
  }
  log("error", "unhandled_error", { path: c.req.path, message: error.message, stack: error.stack });
  return c.json({ error: "internal_error", message: "internal error" }, 500);
}

export function onNotFound(c: Context): Response {
  return c.json({ error: "not_found", message: "not found" }, 404);
}
