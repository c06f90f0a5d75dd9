/**
 * Where the browser may be sent back to after signing in or switching the language: a path of this
 * console only. Strict on purpose (an open redirect from a trusted sign-in page is a phishing tool):
 * it must start with /admin, hold only URL path and query characters with well-formed percent escapes
 * (incident keys carry `:` as %3A), no `//`, no backslash, no dot segments, and come out of URL parsing
 * unchanged. Anything else is the overview.
 */

export const HOME_PATH = "/admin";
export const NEXT_LENGTH_MAX = 1000;

/** Checked with every well-formed escape replaced by `_`: a stray `%` is refused with the rest. */
const NEXT_PATTERN = /^\/admin(?:[/?][A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?$/;
const ESCAPE = /%[0-9A-Fa-f]{2}/g;
const BASE = "https://console.invalid";
/** Sign-in pages themselves are never a destination (a loop). */
const NEVER = new Set(["/admin/login", "/admin/logout"]);

/** `raw` when it is a console path (the language switch's `back`), else the overview. */
export function safePath(raw: string | undefined | null): string {
  if (!raw || raw.length > NEXT_LENGTH_MAX) return HOME_PATH;
  if (raw.includes("//") || !NEXT_PATTERN.test(raw.replace(ESCAPE, "_"))) return HOME_PATH;
  // Dot segments (also escaped ones, `%2e%2e`) are resolved by parsing: a changed path is refused.
  const parsed = new URL(raw, BASE);
  return parsed.origin === BASE && `${parsed.pathname}${parsed.search}` === raw ? raw : HOME_PATH;
}

/** Where to land after signing in: a console path other than the sign-in pages. */
export function safeNext(raw: string | undefined | null): string {
  const path = safePath(raw);
  return NEVER.has(new URL(path, BASE).pathname) ? HOME_PATH : path;
}

/** The sign-in form's address that comes back to `target` (the overview needs no `next`). */
export function loginPathFor(target: string): string {
  const next = safeNext(target);
  return next === HOME_PATH ? "/admin/login" : `/admin/login?next=${encodeURIComponent(next)}`;
}
