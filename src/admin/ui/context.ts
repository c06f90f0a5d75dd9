/**
 * Dashboard request plumbing: the session cookie (set at login, required on every page), the CSRF check
 * on every POST (same-origin Origin header and the session-bound token), the language cookie, and the
 * page context each page renders with.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { getDeps } from "../../deps.ts";
import {
  checkCsrf,
  csrfToken,
  issueSession,
  readSession,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type Session,
} from "../session.ts";
import { LANG_COOKIE, type Lang, langOf, WORDS } from "./i18n.ts";
import type { PageContext } from "./layout.tsx";
import { canonicalTimeZone, TIME_ZONE_COOKIE } from "./time.tsx";

export type DashboardEnv = { Bindings: Env; Variables: { session: Session; actor: string } };

const LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600;
const FLASH_LENGTH_MAX = 300;

const secretOf = (c: Context<DashboardEnv>) => getDeps(c.env).config.adminToken;

export const langFor = (c: Context): Lang => langOf(getCookie(c, LANG_COOKIE));

export function setLang(c: Context, lang: Lang): void {
  setCookie(c, LANG_COOKIE, lang, {
    path: "/admin",
    sameSite: "Strict",
    secure: true,
    maxAge: LANG_COOKIE_MAX_AGE_S,
  });
}

export async function startSession(c: Context<DashboardEnv>, actor: string): Promise<void> {
  const value = await issueSession(secretOf(c), actor, Date.now());
  setCookie(c, SESSION_COOKIE, value, {
    path: "/admin",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
}

export const endSession = (c: Context) => deleteCookie(c, SESSION_COOKIE, { path: "/admin", secure: true });

/** Pages need a valid session: without one, GETs go to the login form and POSTs are refused. */
export const requireSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const session = await readSession(secretOf(c), getCookie(c, SESSION_COOKIE), Date.now());
  if (!session)
    return c.req.method === "GET" ? c.redirect("/admin/login", 303) : c.text("sign in first", 401);
  c.set("session", session);
  c.set("actor", session.actor);
  await next();
};

/** Every POST: sent by a page of this origin (browsers always send Origin on a POST) and carrying the
 * token bound to this session. */
export const requireCsrf: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (c.req.method !== "POST") return next();
  if (c.req.header("origin") !== new URL(c.req.url).origin) return c.text("cross-origin form refused", 403);
  const body = await c.req.parseBody();
  const submitted = typeof body.csrf === "string" ? body.csrf : "";
  if (!(await checkCsrf(secretOf(c), c.get("session"), submitted))) {
    return c.text("invalid or missing CSRF token", 403);
  }
  await next();
};

export async function pageContext(c: Context<DashboardEnv>): Promise<PageContext> {
  const lang = langFor(c);
  const t = WORDS[lang];
  const session = c.get("session");
  const done = c.req.query("done");
  const failed = c.req.query("failed");
  const flash = done
    ? { ok: true, text: `${t.done}: ${done.slice(0, FLASH_LENGTH_MAX)}` }
    : failed
      ? { ok: false, text: `${t.failed}: ${failed.slice(0, FLASH_LENGTH_MAX)}` }
      : null;
  // The sales banner is best effort: a page still renders when the switch cannot be read.
  const pauses = session ? await getDeps(c.env).runbook.salesPauses() : null;
  return {
    t,
    lang,
    timeZone:
      canonicalTimeZone(getCookie(c, TIME_ZONE_COOKIE)) ?? getDeps(c.env).config.ops.reportTimeZone,
    nowMs: Date.now(),
    salesPaused: pauses?.ok ? pauses.value.map((pause) => pause.scope) : [],
    actor: session?.actor ?? null,
    csrf: session ? await csrfToken(secretOf(c), session) : "",
    path: c.req.path,
    flash,
  };
}

/** After an action: back to the page it came from, with its outcome in the flash line. */
export function backWith(
  c: Context,
  path: string,
  result: { ok: true; outcome: string } | { ok: false; message: string },
) {
  const query = result.ok
    ? `done=${encodeURIComponent(result.outcome)}`
    : `failed=${encodeURIComponent(result.message)}`;
  return c.redirect(`${path}${path.includes("?") ? "&" : "?"}${query}`, 303);
}
