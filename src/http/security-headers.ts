/**
 * Security headers on every answer of the worker: nothing of it may be framed (the console's buttons,
 * the order status the success page polls), sniffed into another type, cached by a browser or proxy, or
 * leak its URL as a referrer to another site. JSON answers get a CSP that allows nothing at all; the dashboard sets its
 * own, allowing its one stylesheet by hash and forms to this origin, and no script anywhere.
 * A header a route set itself (the package list's Cache-Control) is kept.
 */

const FRAME_AND_BASE = "frame-ancestors 'none'; base-uri 'none'";

const DEFAULT_HEADERS: ReadonlyArray<[string, string]> = [
  ["content-security-policy", `default-src 'none'; form-action 'none'; ${FRAME_AND_BASE}`],
  ["x-frame-options", "DENY"],
  ["x-content-type-options", "nosniff"],
  ["cache-control", "no-store"],
  // Not `no-referrer`: under it browsers send `Origin: null` on a form POST, and the console's same-origin
  // check on every form (src/admin/ui/guards.tsx) would refuse its own forms.
  ["referrer-policy", "same-origin"],
];

/** The console pages' policy: their stylesheet by hash (`'sha256-…'`), forms posting to this origin only. */
export function pageCsp(styleHashes: string[]): string {
  return `default-src 'none'; style-src ${styleHashes.join(" ")}; form-action 'self'; ${FRAME_AND_BASE}`;
}

/** The response with every default header it lacks (a copy: a fetched response's headers are immutable). */
function withSecurityHeaders(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of DEFAULT_HEADERS) if (!headers.has(name)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Wraps a fetch handler so that every answer, errors and 404s included, carries the headers. */
export function secured<Rest extends unknown[]>(
  handler: (request: Request, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => withSecurityHeaders(await handler(request, ...rest));
}
