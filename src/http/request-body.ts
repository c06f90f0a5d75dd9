/**
 * Request bodies that are not what the route takes are the caller's mistake: 400 naming the problem,
 * before anything is read from or written to the database. A body that is not JSON (or not sent as JSON)
 * is `invalid_json`; JSON that does not fit the route's schema is `bad_request` with each offending field
 * (`issues`: zod's path and message). The log gets the route and the field paths, never the body (it may
 * carry payer data, such as a WeChat openid). Used by the public API and the admin API alike; the console
 * reads its forms with `readForm` and answers a body that is not one with its own 400 page.
 */
import type { Context, MiddlewareHandler } from "hono";
import { log } from "../log.ts";

/** What hono's own validator takes for JSON (`application/json`, `application/<x>+json`). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
}

/** The answer to JSON that does not fit the schema: the zod validator's hook of every JSON route. */
export function rejectInvalid(
  result: { success: true } | { success: false; error: { issues: ZodIssueLike[] } },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  log("warn", "request_refused", {
    path: c.req.path,
    error: "bad_request",
    fields: issues.map((issue) => issue.path || "(body)"),
  });
  return c.json({ error: "bad_request", message: "invalid input", issues }, 400);
}

const mediaTypeOf = (c: Context): string =>
  (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

/** The body as JSON when it is sent and parses as JSON, else undefined (requireJson answers that). */
export async function jsonBodyOf(c: Context): Promise<unknown> {
  if (!JSON_MEDIA_TYPE.test(mediaTypeOf(c))) return undefined;
  try {
    return JSON.parse(await c.req.text());
  } catch {
    return undefined;
  }
}

function invalidJson(c: Context, message: string): Response {
  log("warn", "request_refused", { path: c.req.path, error: "invalid_json" });
  return c.json({ error: "invalid_json", message }, 400);
}

/** Why the body is not JSON, as the answer, or null when it parses. A body limit in front still applies. */
async function unreadableJson(c: Context): Promise<Response | null> {
  if (!JSON_MEDIA_TYPE.test(mediaTypeOf(c)))
    return invalidJson(c, "send the body as JSON, with Content-Type: application/json");
  const text = await c.req.text(); // cached: the validator reads the same text again
  try {
    JSON.parse(text);
    return null;
  } catch {
    return invalidJson(c, "the body is not valid JSON");
  }
}

/**
 * `validate` (a zod validator of target `json`) behind a syntax check: hono's validator throws on
 * malformed JSON, which would otherwise surface as an unhandled error.
 */
// biome-ignore lint/suspicious/noExplicitAny: wraps validators of any route's env, path and input types
export function requireJson<M extends MiddlewareHandler<any, any, any>>(validate: M): M {
  const guarded: MiddlewareHandler = async (c, next) => (await unreadableJson(c)) ?? validate(c, next);
  return guarded as M;
}

/** The form media types browsers submit. */
const FORM_MEDIA_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

/** The fields of a form body, or null when the body is not a form or cannot be parsed (the caller's 400). */
export async function readForm(
  c: Context,
): Promise<Record<string, string | File | (string | File)[]> | null> {
  if (!FORM_MEDIA_TYPES.has(mediaTypeOf(c))) return null;
  try {
    return await c.req.parseBody();
  } catch {
    log("warn", "request_refused", { path: c.req.path, error: "invalid_form" });
    return null;
  }
}
