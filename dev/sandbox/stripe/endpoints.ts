// Webhook endpoints: what `GET/POST /v1/webhook_endpoints` manage and where events are delivered.
// payguard's health job reads them (exists, enabled, subscribes to the needed events).
import { randomBytes } from "node:crypto";
import { STRIPE_EVENT_TYPES } from "../../../src/providers/stripe/event-types.ts";
import type { SandboxResponse } from "../http.ts";
import { invalidParam, missingResource } from "./errors.ts";
import { type FormObject, formList, formString, formStringMap } from "./form.ts";
import { newId, nowSeconds, STRIPE_API_VERSION, type StripeContext } from "./state.ts";
import type { Metadata, WebhookEndpoint, WebhookEndpointRecord } from "./types.ts";

/** What the sandbox subscribes its own endpoint to: everything payguard handles. */
export const PAYGUARD_EVENT_TYPES = [...STRIPE_EVENT_TYPES];

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString("hex")}`;

export function addEndpoint(
  context: StripeContext,
  input: { url: string; enabledEvents: string[]; description?: string; metadata?: Metadata; secret?: string },
): WebhookEndpointRecord {
  const endpoint: WebhookEndpoint = {
    id: newId(context, "we_"),
    object: "webhook_endpoint",
    api_version: STRIPE_API_VERSION,
    application: null,
    created: nowSeconds(context),
    description: input.description ?? null,
    enabled_events: input.enabledEvents,
    livemode: false,
    metadata: input.metadata ?? {},
    status: "enabled",
    url: input.url,
  };
  const record = { endpoint, secret: input.secret ?? newWebhookSecret() };
  context.state.endpoints.push(record);
  return record;
}

function eventsParam(form: FormObject): string[] | undefined {
  const list = formList(form.enabled_events);
  return list?.filter((entry): entry is string => typeof entry === "string");
}

function validUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

export function createEndpointFromForm(context: StripeContext, form: FormObject): SandboxResponse | object {
  const url = formString(form.url);
  if (!validUrl(url))
    return invalidParam("url", "Invalid URL: a webhook endpoint needs an http(s) url.", "url_invalid");
  const enabledEvents = eventsParam(form);
  if (!enabledEvents || enabledEvents.length === 0)
    return invalidParam("enabled_events", "Missing required param: enabled_events.", "parameter_missing");
  const record = addEndpoint(context, {
    url: url as string,
    enabledEvents,
    description: formString(form.description),
    metadata: formStringMap(form.metadata),
  });
  return { ...record.endpoint, secret: record.secret };
}

export function findEndpoint(context: StripeContext, id: string): WebhookEndpointRecord | SandboxResponse {
  return (
    context.state.endpoints.find((record) => record.endpoint.id === id) ??
    missingResource("webhook_endpoint", id, "id")
  );
}

/** Stripe's update takes `url`, `enabled_events`, `description` and `disabled` (which sets `status`). */
export function updateEndpointFromForm(
  record: WebhookEndpointRecord,
  form: FormObject,
): SandboxResponse | object {
  const { endpoint } = record;
  const url = formString(form.url);
  if (url !== undefined) {
    if (!validUrl(url))
      return invalidParam("url", "Invalid URL: a webhook endpoint needs an http(s) url.", "url_invalid");
    endpoint.url = url;
  }
  const enabledEvents = eventsParam(form);
  if (enabledEvents) endpoint.enabled_events = enabledEvents;
  const description = formString(form.description);
  if (description !== undefined) endpoint.description = description;
  const disabled = formString(form.disabled);
  if (disabled !== undefined) endpoint.status = disabled === "true" ? "disabled" : "enabled";
  return endpoint;
}
