/**
 * What stands in front of every dashboard page: the page headers (CSP), the session (signed out, a GET
 * goes to the sign-in form and comes back after it; any other method is refused), a body limit on every
 * form, the CSRF check on every POST (same-origin Origin header and the session-bound token), and the
 * dashboard's own 404 page for any unknown /admin path. Refusals are HTML pages in the page language.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { readForm } from "../../http/request-body.ts";
import { pageCsp } from "../../http/security-headers.ts";
import { checkCsrf } from "../session.ts";
import { currentSession, type DashboardEnv, pageContext } from "./context.ts";
import { styleHash } from "./layout.tsx";
import { loginPathFor } from "./next-path.ts";
import { NotFoundPage, ProblemPage } from "./pages/problem.tsx";
import type { Problem } from "./shell-words.ts";

/** Sign-in sends one field, the token. */
export const LOGIN_BODY_MAX_BYTES = 4 * 1024;
/** The largest form is the runbook's repair: 100 references with a reason, well under this. */
export const FORM_BODY_MAX_BYTES = 64 * 1024;

/** Where the browser asked to go, escapes as sent: the sign-in form's `next`. */
const requestedPath = (c: Context) => {
  const url = new URL(c.req.url);
  return `${url.pathname}${url.search}`;
};

export async function problem(
  c: Context<DashboardEnv>,
  status: ContentfulStatusCode,
  what: Problem,
  signInAt?: string,
): Promise<Response> {
  return c.html(<ProblemPage ctx={await pageContext(c)} problem={what} signInAt={signInAt} />, status);
}

export const requireSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const found = await currentSession(c);
  if (!found.ok) return problem(c, 503, "unavailable");
  const session = found.value;
  if (!session) {
    const signIn = loginPathFor(requestedPath(c));
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    return reading ? c.redirect(signIn, 303) : problem(c, 401, "signInFirst", signIn);
  }
  c.set("session", session);
  c.set("actor", session.actor);
  await next();
};

const sameOrigin = (c: Context) => c.req.header("origin") === new URL(c.req.url).origin;

/** Every POST: sent by a page of this origin (browsers always send Origin on a POST) and carrying the
 * token bound to this session. */
export const requireCsrf: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (c.req.method !== "POST") return next();
  if (!sameOrigin(c)) return problem(c, 403, "crossOrigin");
  const body = await readForm(c);
  if (!body) return problem(c, 400, "formUnreadable");
  const submitted = typeof body.csrf === "string" ? body.csrf : "";
  if (!(await checkCsrf(c.get("session"), submitted))) return problem(c, 403, "csrfInvalid");
  await next();
};

/** The sign-in form has no session yet: only the origin is checked. */
export const requireSameOrigin: MiddlewareHandler<DashboardEnv> = async (c, next) =>
  sameOrigin(c) ? next() : problem(c, 403, "crossOrigin");

const limitTo = (maxSize: number) =>
  bodyLimit({ maxSize, onError: (c) => problem(c as Context<DashboardEnv>, 413, "tooLarge") });

export const loginBodyLimit = limitTo(LOGIN_BODY_MAX_BYTES);
export const formBodyLimit = limitTo(FORM_BODY_MAX_BYTES);

/**
 * Outermost: the page CSP on every dashboard answer, and the 404 page for whatever found nothing (an
 * unknown path or a handler's `c.notFound()`). The JSON API has its own 404 before this runs.
 */
export const dashboardFrame: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  await next();
  if (c.res.status === 404 && !c.res.headers.get("content-type")?.startsWith("text/html")) {
    c.res = await c.html(<NotFoundPage ctx={await pageContext(c)} />, 404);
  }
  c.res.headers.set("content-security-policy", pageCsp([await styleHash()]));
};
