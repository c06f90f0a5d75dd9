// The Stripe REST subset payguard calls, behind Stripe's authentication (`Bearer sk_test_...` or basic
// auth) and `Idempotency-Key` semantics. Answers with Stripe-shaped objects and errors so the real
// stripe-node client can be pointed at the sandbox unchanged.
import { json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { BILLING_ROUTES } from "./billing-routes.ts";
import { completeSession, createSessionFromForm, expireSession, notOpen } from "./checkout.ts";
import { createEndpointFromForm, findEndpoint, updateEndpointFromForm } from "./endpoints.ts";
import { missingResource, stripeError, unknownRoute } from "./errors.ts";
import { pageEvents, parseEventsQuery } from "./events.ts";
import { withExpansions } from "./expand.ts";
import { type FormObject, formString, formStringMap, parseForm } from "./form.ts";
import { type Handler, isResponse, type Route } from "./handler.ts";
import { cancelIntent, createIntentFromForm } from "./intents.ts";
import { createRefund } from "./refunds.ts";
import { nowSeconds, type StripeContext } from "./state.ts";

function maskedKey(key: string): string {
  return key.length > 8
    ? `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`
    : "****";
}

/** Stripe accepts the key as a bearer token or as the basic-auth user name. */
function presentedKey(headers: Record<string, string>): string | null {
  const header = headers.authorization ?? "";
  if (header.startsWith("Bearer ")) return header.slice("Bearer ".length).trim();
  if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice("Basic ".length), "base64").toString("utf8");
    return decoded.split(":")[0] ?? null;
  }
  return null;
}

function unauthorized(key: string | null): SandboxResponse {
  const message = key
    ? `Invalid API Key provided: ${maskedKey(key)}`
    : "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
  const response = stripeError({ status: 401, type: "invalid_request_error", message });
  return { ...response, headers: { ...response.headers, "www-authenticate": 'Basic realm="Stripe"' } };
}

const getSession: Handler = (context, form, id) => {
  const session = context.state.sessions.get(id);
  return session
    ? withExpansions(context.state, form, session)
    : missingResource("checkout.session", id, "session");
};

/** `GET /v1/checkout/sessions`: newest first, filtered by `payment_intent` or `subscription` when given. */
const listSessions: Handler = (context, form) => {
  const intent = formString(form.payment_intent);
  const subscription = formString(form.subscription);
  const limit = Math.min(Math.max(Number(formString(form.limit) ?? 10) || 10, 1), 100);
  const matching = [...context.state.sessions.values()]
    .filter((session) => intent === undefined || session.payment_intent === intent)
    .filter((session) => subscription === undefined || session.subscription === subscription)
    .reverse();
  const list = {
    object: "list",
    data: matching.slice(0, limit),
    has_more: matching.length > limit,
    url: "/v1/checkout/sessions",
  };
  return withExpansions(context.state, form, list);
};

/**
 * A session the customer completes while the expire call is in flight completes first; Stripe then
 * refuses the expiry as it does for any session no longer open (400 checkout_session_not_open).
 */
const expireSessionRoute: Handler = (context, _form, id) => {
  const session = context.state.sessions.get(id);
  if (!session) return missingResource("checkout.session", id, "session");
  if (context.state.payAtExpire.delete(id) && session.status === "open") completeSession(context, session);
  if (session.status !== "open") return notOpen(session);
  expireSession(context, session);
  return session;
};

const listEvents: Handler = (context, form) => {
  const query = parseEventsQuery(form, nowSeconds(context));
  if (!query.ok)
    return stripeError({ status: 400, type: "invalid_request_error", code: "parameter_invalid", ...query });
  const success = formString(form.delivery_success);
  const events =
    success === undefined
      ? context.state.events
      : context.state.events.filter(
          (event) =>
            !context.state.unsent.has(event.id) &&
            (context.deliveryOutcome(event.id) === "succeeded") === (success === "true"),
        );
  const page = pageEvents(events, query);
  if ("missingCursor" in page) {
    const id = formString(form[page.missingCursor]) ?? "";
    return missingResource("event", id, page.missingCursor);
  }
  return page;
};

const getEvent: Handler = (context, _form, id) =>
  context.state.events.find((event) => event.id === id) ?? missingResource("event", id, "id");

const postRefund: Handler = (context, form) => {
  const amountRaw = formString(form.amount);
  const result = createRefund(context, {
    paymentIntentId: formString(form.payment_intent),
    chargeId: formString(form.charge),
    amountMinor: amountRaw === undefined ? undefined : Number(amountRaw),
    reason: formString(form.reason),
    metadata: formStringMap(form.metadata),
  });
  return "error" in result ? result.error : result.refund;
};

const listEndpoints: Handler = (context) => ({
  object: "list",
  data: context.state.endpoints.map((record) => record.endpoint),
  has_more: false,
  url: "/v1/webhook_endpoints",
});

const withEndpoint =
  (
    then: (
      record: Exclude<ReturnType<typeof findEndpoint>, SandboxResponse>,
      form: FormObject,
      context: StripeContext,
    ) => SandboxResponse | object,
  ): Handler =>
  (context, form, id) => {
    const found = findEndpoint(context, id);
    return isResponse(found) ? found : then(found, form, context);
  };

const ROUTES: Route[] = [
  { method: "POST", pattern: /^\/v1\/checkout\/sessions$/, handler: createSessionFromForm },
  { method: "GET", pattern: /^\/v1\/checkout\/sessions$/, handler: listSessions },
  { method: "GET", pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/, handler: getSession },
  { method: "POST", pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, handler: expireSessionRoute },
  { method: "GET", pattern: /^\/v1\/events$/, handler: listEvents },
  { method: "GET", pattern: /^\/v1\/events\/([^/]+)$/, handler: getEvent },
  { method: "POST", pattern: /^\/v1\/refunds$/, handler: postRefund },
  {
    method: "GET",
    pattern: /^\/v1\/refunds\/([^/]+)$/,
    handler: (c, _f, id) => c.state.refunds.get(id) ?? missingResource("refund", id, "id"),
  },
  { method: "POST", pattern: /^\/v1\/payment_intents$/, handler: createIntentFromForm },
  {
    method: "POST",
    pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
    handler: (c, form, id) => cancelIntent(c, id, form),
  },
  {
    method: "GET",
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    handler: (c, _f, id) => c.state.paymentIntents.get(id) ?? missingResource("payment_intent", id, "intent"),
  },
  {
    method: "GET",
    pattern: /^\/v1\/charges\/([^/]+)$/,
    handler: (c, _f, id) => c.state.charges.get(id) ?? missingResource("charge", id, "charge"),
  },
  {
    method: "GET",
    pattern: /^\/v1\/disputes\/([^/]+)$/,
    handler: (c, _f, id) => c.state.disputes.get(id) ?? missingResource("dispute", id, "dispute"),
  },
  { method: "GET", pattern: /^\/v1\/webhook_endpoints$/, handler: listEndpoints },
  { method: "POST", pattern: /^\/v1\/webhook_endpoints$/, handler: createEndpointFromForm },
  { method: "GET", pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/, handler: withEndpoint((r) => r.endpoint) },
  {
    method: "POST",
    pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/,
    handler: withEndpoint(updateEndpointFromForm),
  },
  {
    method: "DELETE",
    pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/,
    handler: withEndpoint((record, _form, context) => {
      context.state.endpoints.splice(context.state.endpoints.indexOf(record), 1);
      return { id: record.endpoint.id, object: "webhook_endpoint", deleted: true };
    }),
  },
  ...BILLING_ROUTES,
];

function route(context: StripeContext, request: SandboxRequest): SandboxResponse {
  const form = parseForm(
    new URLSearchParams([
      ...request.query,
      ...(request.method === "GET" ? [] : new URLSearchParams(request.body)),
    ]),
  );
  for (const { method, pattern, handler } of ROUTES) {
    const match = pattern.exec(request.path);
    if (!match || method !== request.method) continue;
    const result = handler(context, form, decodeURIComponent(match[1] ?? ""));
    return isResponse(result) ? result : json(200, result);
  }
  return unknownRoute(request.method, request.path);
}

/** Same key + same request → the first answer again; same key + other parameters → an idempotency error. */
function withIdempotency(
  context: StripeContext,
  request: SandboxRequest,
  run: () => SandboxResponse,
): SandboxResponse {
  const key = request.headers["idempotency-key"];
  if (request.method !== "POST" || !key) return run();
  const fingerprint = `${request.method} ${request.path}\n${request.body}`;
  const stored = context.state.idempotency.get(key);
  if (stored && stored.fingerprint !== fingerprint) {
    return stripeError({
      status: 400,
      type: "idempotency_error",
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  }
  if (stored) {
    return {
      status: stored.status,
      headers: { "content-type": "application/json", "idempotent-replayed": "true" },
      body: stored.body,
    };
  }
  const response = run();
  context.state.idempotency.set(key, {
    fingerprint,
    status: response.status,
    body: String(response.body ?? ""),
  });
  return response;
}

export function handleStripeApi(
  context: StripeContext,
  secretKey: string,
  request: SandboxRequest,
): SandboxResponse | null {
  if (!request.path.startsWith("/v1/")) return null;
  const key = presentedKey(request.headers);
  const response =
    key === secretKey ? withIdempotency(context, request, () => route(context, request)) : unauthorized(key);
  // A counter, not the seeded stream: how often payguard calls must not shift the ids of later objects.
  context.state.requestCount += 1;
  const requestId = `req_sandbox${context.state.requestCount}`;
  return { ...response, headers: { ...response.headers, "request-id": requestId } };
}
