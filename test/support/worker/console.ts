/**
 * Test-side helpers for the dashboard: sign in from an address of the caller's choosing (the sign-in
 * throttle counts per address), read the CSRF token of a page, submit a form, and carry the cookies a
 * response sets (the session, and the flash line an action leaves for the page it redirects to).
 * `send` lets a test use another `env` (a token removed from ADMIN_TOKENS) through the same worker code.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../src/index.ts";
import { BASE_URL } from "./harness.ts";

export const ORIGIN = new URL(BASE_URL).origin;
export const SESSION_COOKIE = "__Host-payguard_admin";

export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** Every request of these helpers goes through the worker's own fetch with the given bindings. */
export function send(
  path: string,
  init: RequestInit = {},
  bindings: Env = env,
  base = BASE_URL,
): Promise<Response> {
  const request = new Request(`${base}${path}`, { redirect: "manual", ...init });
  return worker.fetch(request, bindings, createExecutionContext());
}

/** `name=value` pairs of the cookies a response sets (cleared ones left out), for a Cookie header. */
export function cookiesSetBy(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .filter((pair) => !pair.endsWith("="))
    .join("; ");
}

export async function signIn(
  address: string,
  token: string = env.ADMIN_TOKEN,
  fields: Record<string, string> = {},
): Promise<{ cookie: string; response: Response }> {
  const response = await send("/admin/login", {
    method: "POST",
    headers: {
      origin: ORIGIN,
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": address,
    },
    body: form({ token, ...fields }),
  });
  const session = response.headers
    .getSetCookie()
    .find((line) => line.startsWith(`${SESSION_COOKIE}=`) || line.startsWith("payguard_admin="));
  return { cookie: session?.split(";")[0] ?? "", response };
}

export const open = (path: string, cookie: string, bindings: Env = env) =>
  send(path, { headers: { cookie } }, bindings);

export async function csrfOf(path: string, cookie: string): Promise<string> {
  const html = await (await open(path, cookie)).text();
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no csrf token on ${path}`);
  return match[1];
}

export const submit = (
  path: string,
  cookie: string,
  fields: Record<string, string>,
  bindings: Env = env,
  origin = ORIGIN,
) =>
  send(
    path,
    {
      method: "POST",
      headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
      body: form(fields),
    },
    bindings,
  );

/** The page an action redirected to, opened with the cookies the redirect set (its flash line). */
export async function follow(response: Response, cookie: string): Promise<string> {
  const location = response.headers.get("location");
  if (!location) throw new Error(`no redirect (status ${response.status})`);
  const set = cookiesSetBy(response);
  return (await open(location, set ? `${cookie}; ${set}` : cookie)).text();
}
