/**
 * One place that maps failures to HTTP. Callers get a generic message; the detail goes to the log.
 * Infrastructure failures are 5xx on purpose: providers retry those, so nothing is lost. A misconfigured
 * installation (the Data API refusing payguard) is a 5xx too, for as long as it lasts. What the framework
 * refuses itself (a body it cannot parse) keeps its 4xx, logged without a stack: only our own bugs are 500.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "../env.ts";
import type { InfraError, InfraErrorKind } from "../ledger/result.ts";
import { log } from "../log.ts";

export type HttpFailure =
  | { kind: "bad_request"; detail: string }
  | { kind: "unauthorized"; detail: string }
  | { kind: "not_found"; detail: string }
  | { kind: "payload_too_large"; detail: string }
  | { kind: "unavailable"; detail: string }
  /** The Data API refuses payguard: logged as such, answered like `unavailable` (nothing about the setup leaks). */
  | { kind: "misconfigured"; detail: string };

const STATUS: Record<HttpFailure["kind"], ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  unavailable: 503,
  misconfigured: 503,
};

/** The `error` field callers see. */
const PUBLIC_KIND: Record<HttpFailure["kind"], string> = {
  bad_request: "bad_request",
  unauthorized: "unauthorized",
  not_found: "not_found",
  payload_too_large: "payload_too_large",
  unavailable: "unavailable",
  misconfigured: "unavailable",
};

const MESSAGE: Record<HttpFailure["kind"], string> = {
  bad_request: "bad request",
  unauthorized: "unauthorized",
  not_found: "not found",
  payload_too_large: "payload too large",
  unavailable: "temporarily unavailable, retry later",
  misconfigured: "temporarily unavailable, retry later",
};

export function failureResponse(c: Context, failure: HttpFailure): Response {
  log(failure.kind === "misconfigured" ? "error" : "warn", "request_failed", {
    path: c.req.path,
    kind: failure.kind,
    detail: failure.detail,
  });
  return c.json({ error: PUBLIC_KIND[failure.kind], message: MESSAGE[failure.kind] }, STATUS[failure.kind]);
}

/**
 * A store failure on a read or write the caller asked for, never the caller's fault: 503 either way
 * (a refusal of a call the caller cannot influence is ours to fix too), logged with its kind.
 */
export function storeFailure(error: InfraError, context?: string): HttpFailure {
  const detail = `${context ? `${context}: ` : ""}${error.code}: ${error.message}`;
  switch (error.kind) {
    case "misconfigured":
      return { kind: "misconfigured", detail: `${error.fault ?? "data_api"}: ${detail}` };
    case "transient":
    case "permanent":
      return { kind: "unavailable", detail };
  }
}

/**
 * What a provider is told when an event could not be applied: `retry` (5xx; Stripe retries for days,
 * WeChat for 24 h) or `acknowledge` (2xx). Only a fact that can never apply is acknowledged, and it is
 * in the inbox as failed for the audit; a misconfigured installation is retried until it is fixed.
 */
export function webhookAnswerFor(kind: InfraErrorKind): "retry" | "acknowledge" {
  switch (kind) {
    case "transient":
      return "retry";
    case "misconfigured":
      return "retry";
    case "permanent":
      return "acknowledge";
  }
}

export function onError(error: Error, c: Context): Response {
  if (error instanceof HTTPException && error.status < 500) {
    // The framework refusing the request (a body it cannot parse): the caller's mistake, not ours.
    log("warn", "request_refused", { path: c.req.path, status: error.status, message: error.message });
    return c.json({ error: "bad_request", message: error.message }, error.status);
  }
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
