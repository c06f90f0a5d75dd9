// Stripe events: creation (an immutable snapshot of the object), signing exactly as Stripe signs
// webhooks, fan-out to the registered endpoints, and `GET /v1/events` listing with Stripe's filters and
// cursor paging.
import { createHmac } from "node:crypto";
import type { QueuedDelivery } from "../http.ts";
import { PAYGUARD_EVENT_TYPES } from "./endpoints.ts";
import { type FormObject, formList, formObject, formString } from "./form.ts";
import { newId, nowSeconds, STRIPE_API_VERSION, type StripeContext, snapshot } from "./state.ts";
import type { StripeEvent, StripeList, WebhookEndpointRecord } from "./types.ts";

/** `events.list` only reaches back this far, as on Stripe. */
export const EVENTS_RETENTION_S = 30 * 24 * 60 * 60;
export const EVENTS_PAGE_LIMIT_DEFAULT = 10;
export const EVENTS_PAGE_LIMIT_MAX = 100;

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.body" keyed by the whsec_ string as UTF-8>`. */
export function signStripePayload(body: string, secret: string, timestampS: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestampS}.${body}`, "utf8").digest("hex");
  return `t=${timestampS},v1=${v1}`;
}

function endpointWants(record: WebhookEndpointRecord, type: string): boolean {
  const { endpoint } = record;
  return (
    endpoint.status === "enabled" &&
    (endpoint.enabled_events.includes("*") || endpoint.enabled_events.includes(type))
  );
}

function signedDelivery(event: StripeEvent, body: string, url: string, secret: string, nowMs: number) {
  const headersAt = (atMs: number): Record<string, string> => ({
    "content-type": "application/json; charset=utf-8",
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "stripe-signature": signStripePayload(body, secret, Math.floor(atMs / 1000)),
  });
  const delivery: QueuedDelivery = {
    provider: "stripe",
    eventId: event.id,
    url,
    headers: headersAt(nowMs),
    body,
    resign: headersAt,
  };
  return delivery;
}

export interface EmittedEvent {
  event: StripeEvent;
  deliveries: QueuedDelivery[];
  /**
   * About a payment object underneath what a scenario step acts on (a Checkout Session's or an invoice's
   * PaymentIntent and Charge, a confirmed PaymentIntent's Charge): control answers list these apart
   * (`paymentEventIds`).
   */
  ofPayment?: true;
}

export const ofPayment = (emitted: EmittedEvent): EmittedEvent => ({ ...emitted, ofPayment: true });

/** With no endpoint registered, the test stands in for payguard's endpoint and gets what it subscribes to. */
const IMPLICIT_ENDPOINT_EVENTS: ReadonlySet<string> = new Set(PAYGUARD_EVENT_TYPES);

/**
 * Records an event and sends one signed delivery per enabled endpoint that subscribes to its type.
 * With no endpoint registered at all, an event of a type payguard's endpoint subscribes to is handed
 * over as one delivery with an empty url, signed with the default secret, so a test can forward it.
 */
export function emitEvent(
  context: StripeContext,
  type: string,
  object: unknown,
  previousAttributes?: Record<string, unknown>,
): EmittedEvent {
  const endpoints = context.state.endpoints;
  const targets = endpoints.filter((record) => endpointWants(record, type));
  const event: StripeEvent = {
    id: newId(context, "evt_"),
    object: "event",
    api_version: STRIPE_API_VERSION,
    created: nowSeconds(context),
    data: {
      object: snapshot(object),
      ...(previousAttributes && { previous_attributes: previousAttributes }),
    },
    livemode: false,
    pending_webhooks: targets.length,
    request: { id: null, idempotency_key: null },
    type,
  };
  context.state.events.push(event);
  const body = JSON.stringify(event);
  const nowMs = context.clock();
  const deliveries =
    endpoints.length === 0
      ? IMPLICIT_ENDPOINT_EVENTS.has(type)
        ? [signedDelivery(event, body, "", context.webhookSecret, nowMs)]
        : []
      : targets.map((record) => signedDelivery(event, body, record.endpoint.url, record.secret, nowMs));
  if (deliveries.length === 0) context.state.unsent.add(event.id);
  for (const delivery of deliveries) context.deliver(delivery);
  return { event, deliveries };
}

type CreatedFilter = (createdS: number) => boolean;

function createdFilter(value: FormObject[string] | undefined): CreatedFilter | string {
  if (value === undefined) return () => true;
  const exact = formString(value);
  if (exact !== undefined) {
    const at = Number(exact);
    return Number.isInteger(at) ? (created) => created === at : "created";
  }
  const range = formObject(value);
  if (!range) return "created";
  const bounds: Array<[string, (created: number, bound: number) => boolean]> = [
    ["gt", (c, b) => c > b],
    ["gte", (c, b) => c >= b],
    ["lt", (c, b) => c < b],
    ["lte", (c, b) => c <= b],
  ];
  const checks: CreatedFilter[] = [];
  for (const [name, test] of bounds) {
    const raw = formString(range[name]);
    if (raw === undefined) continue;
    const bound = Number(raw);
    if (!Number.isInteger(bound)) return `created[${name}]`;
    checks.push((created) => test(created, bound));
  }
  return (created) => checks.every((check) => check(created));
}

export type EventsQuery =
  | {
      ok: true;
      limit: number;
      matches: (event: StripeEvent) => boolean;
      startingAfter?: string;
      endingBefore?: string;
    }
  | { ok: false; param: string; message: string };

export function parseEventsQuery(params: FormObject, nowS: number): EventsQuery {
  const limitRaw = formString(params.limit);
  const limit = limitRaw === undefined ? EVENTS_PAGE_LIMIT_DEFAULT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > EVENTS_PAGE_LIMIT_MAX) {
    return { ok: false, param: "limit", message: `Invalid integer: ${limitRaw}; must be between 1 and 100` };
  }
  const created = createdFilter(params.created);
  if (typeof created === "string") return { ok: false, param: created, message: "Invalid timestamp" };
  const types = (formList(params.types) ?? []).filter((t): t is string => typeof t === "string");
  const type = formString(params.type);
  const oldestS = nowS - EVENTS_RETENTION_S;
  const matches = (event: StripeEvent) =>
    event.created >= oldestS &&
    created(event.created) &&
    (types.length === 0 || types.includes(event.type)) &&
    (type === undefined || matchesTypePattern(event.type, type));
  const startingAfter = formString(params.starting_after);
  const endingBefore = formString(params.ending_before);
  return { ok: true, limit, matches, startingAfter, endingBefore };
}

/** `type` accepts one `*` wildcard, e.g. `checkout.session.*`. */
function matchesTypePattern(type: string, pattern: string): boolean {
  if (!pattern.includes("*")) return type === pattern;
  const [prefix = "", suffix = ""] = pattern.split("*");
  return type.startsWith(prefix) && type.endsWith(suffix);
}

/** Newest first; a cursor that is not an event id is reported as the parameter it came from. */
export function pageEvents(
  events: readonly StripeEvent[],
  query: Extract<EventsQuery, { ok: true }>,
): StripeList<StripeEvent> | { missingCursor: string } {
  const newestFirst = [...events].reverse();
  const cursor = query.startingAfter ?? query.endingBefore;
  const at = cursor === undefined ? -1 : newestFirst.findIndex((event) => event.id === cursor);
  if (cursor !== undefined && at < 0)
    return { missingCursor: query.startingAfter ? "starting_after" : "ending_before" };
  let data: StripeEvent[];
  let hasMore: boolean;
  if (query.endingBefore !== undefined && query.startingAfter === undefined) {
    const newer = newestFirst.slice(0, at).filter(query.matches);
    data = newer.slice(Math.max(0, newer.length - query.limit));
    hasMore = newer.length > query.limit;
  } else {
    const older = newestFirst.slice(at + 1).filter(query.matches);
    data = older.slice(0, query.limit);
    hasMore = older.length > query.limit;
  }
  return { object: "list", data, has_more: hasMore, url: "/v1/events" };
}
