// A minimal hosted Checkout page at the session's `url`, so a person running `npm start` can click
// through a payment: GET shows the amount, POST pays and redirects to `success_url`, as Checkout does.
import type { SandboxRequest, SandboxResponse } from "../http.ts";
import { completeSession } from "./checkout.ts";
import type { StripeContext } from "./state.ts";
import type { CheckoutSession } from "./types.ts";

const PAGE_PATH = /^\/c\/pay\/([^/]+)$/;

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(session: CheckoutSession): string {
  const amount = `${(session.amount_total / 100).toFixed(2)} ${session.currency.toUpperCase()}`;
  const action =
    session.status === "open"
      ? `<form method="post"><button type="submit">Pay ${escapeHtml(amount)}</button></form>`
      : `<p>This Checkout Session is ${escapeHtml(session.status)}.</p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sandbox Checkout</title></head>
<body style="font-family: system-ui; max-width: 28rem; margin: 4rem auto">
<h1>Sandbox Checkout</h1><p>Order ${escapeHtml(session.client_reference_id ?? session.id)}: ${escapeHtml(amount)}</p>
${action}</body></html>`;
}

export function handleHostedCheckout(
  context: StripeContext,
  request: SandboxRequest,
): SandboxResponse | null {
  const match = PAGE_PATH.exec(request.path);
  if (!match) return null;
  const session = context.state.sessions.get(decodeURIComponent(match[1] ?? ""));
  if (!session)
    return { status: 404, headers: { "content-type": "text/plain" }, body: "No such Checkout Session" };
  if (request.method === "POST" && session.status === "open") {
    completeSession(context, session);
    const next = (session.success_url ?? `${context.baseUrl()}/c/pay/${session.id}`).replace(
      "{CHECKOUT_SESSION_ID}",
      session.id,
    );
    return { status: 303, headers: { location: next } };
  }
  return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: page(session) };
}
