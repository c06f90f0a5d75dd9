/**
 * The console's cookies (session, flash line, language, time zone): HttpOnly where the page need not read
 * them, always Secure and SameSite=Strict. Over https each name carries the `__Host-` prefix (Path=/, no
 * Domain): the browser then refuses the cookie from anywhere but this host, so a sibling subdomain
 * cannot plant or shadow one. Local dev runs plain http://127.0.0.1 (`wrangler dev`), where the prefix is
 * not allowed: there the bare name is used, scoped to /admin.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

const isHttps = (c: Context) => new URL(c.req.url).protocol === "https:";

export function readCookie(c: Context, name: string): string | undefined {
  return isHttps(c) ? getCookie(c, name, "host") : getCookie(c, name);
}

export function writeCookie(
  c: Context,
  name: string,
  value: string,
  options: { maxAgeS: number; httpOnly: boolean },
): void {
  const common = {
    secure: true,
    sameSite: "Strict",
    httpOnly: options.httpOnly,
    maxAge: options.maxAgeS,
  } as const;
  if (isHttps(c)) setCookie(c, name, value, { ...common, prefix: "host", path: "/" });
  else setCookie(c, name, value, { ...common, path: "/admin" });
}

export function clearCookie(c: Context, name: string): void {
  if (isHttps(c)) deleteCookie(c, name, { prefix: "host", path: "/", secure: true });
  else deleteCookie(c, name, { path: "/admin", secure: true });
}
