/**
 * Dashboard request plumbing: the server-side session behind the cookie (started at sign-in, looked up
 * and re-checked against the configured tokens on every request, ended at sign-out), the language and
 * time-zone cookies, the flash line an action leaves for the page it goes back to, and the page context
 * each page renders with.
 *
 * The flash line is never read from the URL: `backWith` seals the server's own outcome text into a
 * short-lived cookie, HMAC-bound to the session and to the page it is for; a crafted link can put
 * nothing in the banner.
 */
import type { Context } from "hono";
import { getDeps } from "../../deps.ts";
import { toHex } from "../../hex.ts";
import { ok, type Result } from "../../ledger/result.ts";
import {
  csrfToken,
  type Flash,
  isSessionId,
  newSessionId,
  openFlash,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type Session,
  sealFlash,
} from "../session.ts";
import { createSessionStore } from "../session-store.ts";
import { adminTokens, fromHex, type TokenEntry, tokenStillConfigured } from "../tokens.ts";
import { clearCookie, readCookie, writeCookie } from "./cookies.ts";
import { LANG_COOKIE, type Lang, langOf, WORDS } from "./i18n.ts";
import type { PageContext } from "./layout.tsx";
import { outcomeLine } from "./runbook-words.ts";
import { canonicalTimeZone, TIME_ZONE_COOKIE } from "./time.tsx";

export type DashboardEnv = { Bindings: Env; Variables: { session: Session; actor: string } };

const PREFERENCE_MAX_AGE_S = 365 * 24 * 3600;
const FLASH_COOKIE = "payguard_flash";
/** Long enough to follow the redirect; a flash nobody saw is gone after this. */
const FLASH_MAX_AGE_S = 60;
const FLASH_LENGTH_MAX = 300;

const sessions = (env: Env) => createSessionStore(env.ADMIN_SESSIONS);

export const langFor = (c: Context): Lang => langOf(readCookie(c, LANG_COOKIE));

export function setLang(c: Context, lang: Lang): void {
  writeCookie(c, LANG_COOKIE, lang, { maxAgeS: PREFERENCE_MAX_AGE_S, httpOnly: true });
}

/** The operator's zone: the cookie when it names a valid zone, else REPORT_TIME_ZONE. */
const timeZoneFor = (c: Context<DashboardEnv>): string =>
  canonicalTimeZone(readCookie(c, TIME_ZONE_COOKIE)) ?? getDeps(c.env).config.ops.reportTimeZone;

/** `zone` must already be canonical (canonicalTimeZone); null goes back to the deployment default. */
export function setTimeZone(c: Context, zone: string | null): void {
  if (zone === null) clearCookie(c, TIME_ZONE_COOKIE);
  else writeCookie(c, TIME_ZONE_COOKIE, zone, { maxAgeS: PREFERENCE_MAX_AGE_S, httpOnly: true });
}

/** A new server-side session for the token that signed in, and its cookie. */
export async function startSession(
  c: Context<DashboardEnv>,
  token: TokenEntry,
): Promise<Result<void, string>> {
  const id = newSessionId();
  const nowMs = Date.now();
  const record = {
    actor: token.name,
    fingerprint: toHex(token.fingerprint),
    expiresAtMs: nowMs + SESSION_TTL_MS,
  };
  const stored = await sessions(c.env).start(id, record, nowMs);
  if (!stored.ok) return stored;
  writeCookie(c, SESSION_COOKIE, id, { maxAgeS: Math.floor(SESSION_TTL_MS / 1000), httpOnly: true });
  return ok(undefined);
}

/** Ends the request's session server-side (a copy of the cookie is refused from now on) and clears it. */
export async function endSession(c: Context<DashboardEnv>): Promise<Result<void, string>> {
  const ended = await sessions(c.env).end(c.get("session").id);
  if (ended.ok) clearCookie(c, SESSION_COOKIE);
  return ended;
}

/**
 * The request's session, or null: none or unknown, expired, or signed in with a token that is no longer
 * configured under that name (removed or changed in ADMIN_TOKENS / ADMIN_TOKEN), which also ends it.
 */
export async function currentSession(c: Context<DashboardEnv>): Promise<Result<Session | null, string>> {
  const id = readCookie(c, SESSION_COOKIE);
  if (!isSessionId(id)) return ok(null);
  const store = sessions(c.env);
  const found = await store.find(id, Date.now());
  if (!found.ok || !found.value) return found.ok ? ok(null) : found;
  const record = found.value;
  if (!tokenStillConfigured(await adminTokens(c.env), record.actor, fromHex(record.fingerprint))) {
    await store.end(id);
    return ok(null);
  }
  return ok({ id, ...record });
}

/** The flash sealed for this page, consumed (a reload shows the page without it). */
async function takeFlash(c: Context<DashboardEnv>, path: string, session: Session | undefined) {
  const sealed = readCookie(c, FLASH_COOKIE);
  if (!sealed || !session) return null;
  const flash = await openFlash(session, path, sealed);
  if (flash) clearCookie(c, FLASH_COOKIE);
  return flash;
}

export async function pageContext(c: Context<DashboardEnv>): Promise<PageContext> {
  const lang = langFor(c);
  const t = WORDS[lang];
  const session = c.get("session");
  const path = new URL(c.req.url).pathname;
  const flash = await takeFlash(c, path, session);
  // The sales banner is best effort: a page still renders when the switch cannot be read.
  const pauses = session ? await getDeps(c.env).runbook.salesPauses() : null;
  return {
    t,
    lang,
    timeZone: timeZoneFor(c),
    nowMs: Date.now(),
    salesPaused: pauses?.ok ? pauses.value.map((pause) => pause.scope) : [],
    actor: session?.actor ?? null,
    csrf: session ? await csrfToken(session) : "",
    path,
    flash: flash && {
      ok: flash.ok,
      text: `${flash.ok ? t.done : t.failed}: ${flash.ok ? outcomeLine(lang, flash.text) : flash.text}`,
    },
  };
}

/**
 * After an action: back to the page it came from (`path` may carry a query), which shows the outcome
 * (or the problem) in its flash line once.
 */
export async function backWith(
  c: Context,
  path: string,
  result: { ok: true; outcome: string } | { ok: false; message: string },
): Promise<Response> {
  const session = (c as Context<DashboardEnv>).get("session");
  const flash: Flash = result.ok
    ? { ok: true, text: result.outcome.slice(0, FLASH_LENGTH_MAX) }
    : { ok: false, text: result.message.slice(0, FLASH_LENGTH_MAX) };
  if (session) {
    const target = new URL(path, c.req.url).pathname;
    writeCookie(c, FLASH_COOKIE, await sealFlash(session, target, flash), {
      maxAgeS: FLASH_MAX_AGE_S,
      httpOnly: true,
    });
  }
  return c.redirect(path, 303);
}
