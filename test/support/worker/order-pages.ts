/** Signing in to the dashboard and reading its order pages, for the order-page suites. */
import { env } from "cloudflare:workers";
import { BASE_URL, call } from "./harness.ts";

const ORIGIN = new URL(BASE_URL).origin;
/** Each sign-in from its own address: the sign-in throttle counts per address. */
let addresses = 0;

/** Signs in with the configured admin token; answers the session cookie (`name=value`). */
export async function signIn(): Promise<string> {
  addresses += 1;
  const response = await call("/admin/login", {
    method: "POST",
    headers: {
      origin: ORIGIN,
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": `198.51.100.${200 + (addresses % 50)}`,
    },
    body: new URLSearchParams({ token: env.ADMIN_TOKEN }).toString(),
    redirect: "manual",
  });
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie) throw new Error(`sign-in failed: ${response.status}`);
  return cookie;
}

/** The language cookie the dashboard's switch sets (`name=value`), whatever its name. */
async function langCookie(cookie: string, lang: "en" | "zh"): Promise<string> {
  const switched = await call(`/admin/lang/${lang}?back=/admin`, { headers: { cookie }, redirect: "manual" });
  return (switched.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
}

/** A dashboard page's HTML, in English unless `lang` says otherwise. */
export async function pageHtml(path: string, cookie: string, lang: "en" | "zh" = "en"): Promise<string> {
  const response = await call(path, {
    headers: { cookie: `${cookie}; ${await langCookie(cookie, lang)}` },
    redirect: "manual",
  });
  if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
  return response.text();
}

/** The text inside the element with this id (tags stripped, whitespace collapsed). */
export function textOf(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) return "";
  const open = html.lastIndexOf("<", start);
  const tag = /^<([a-z0-9]+)/.exec(html.slice(open))?.[1] ?? "";
  const end = html.indexOf(`</${tag}>`, start);
  return html
    .slice(html.indexOf(">", start) + 1, end < 0 ? undefined : end)
    .replace(/<[^>]+>/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ")
    .trim();
}
