// Faults driven over HTTP, as the integration tests, benchmarks and chaos runs use them: API faults
// (5xx, 429 with Retry-After, hanging calls) seen through the real stripe client, delivery faults seen
// by a webhook receiver, and the call log.
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "./index.ts";
import { type Receiver, startReceiver } from "./testing/receiver.ts";

let sandbox: Sandbox;
let receiver: Receiver;
let stripe: Stripe;

async function control(path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Attempt {
  eventId: string;
  attempt: number;
  fault: string | null;
  status: number | string;
}

const deliveryLog = async () => (await control("deliveries?wait=1")).body.deliveries as Attempt[];

/** A step that emits one event whatever payguard's endpoint subscribes to: an abandoned session expired. */
async function expireOrder(orderId: string): Promise<string[]> {
  await control("stripe/abandon", { orderId });
  return (await control("stripe/expire", { orderId })).body.eventIds as string[];
}

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({ seed: 31, stripeWebhookUrl: receiver.url });
  const { port } = new URL(sandbox.url);
  stripe = new Stripe(sandbox.stripe.secretKey, {
    host: "127.0.0.1",
    port: Number(port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(async () => {
  await control("reset", {});
  receiver.received.length = 0;
  receiver.respondWith(() => 200);
});

describe("API faults", () => {
  it("fails the next N calls under a path prefix with a Stripe-shaped 5xx, then recovers", async () => {
    await control("faults", { api: [{ kind: "5xx", status: 503, count: 2, pathPrefix: "/v1/events" }] });
    const first = (await stripe.events.list().catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(first).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(first.statusCode).toBe(503);
    await expect(stripe.events.list()).rejects.toThrow();
    await expect(stripe.webhookEndpoints.list()).resolves.toMatchObject({ object: "list" });
    await expect(stripe.events.list()).resolves.toMatchObject({ object: "list" });
    const calls = (await control("calls")).body.calls as Array<{
      path: string;
      status: number;
      fault: string | null;
    }>;
    expect(calls.map((c) => [c.path, c.status, c.fault])).toEqual([
      ["/v1/events", 503, "5xx"],
      ["/v1/events", 503, "5xx"],
      ["/v1/webhook_endpoints", 200, null],
      ["/v1/events", 200, null],
    ]);
  });

  it("answers 429 with Retry-After", async () => {
    await control("faults", { api: [{ kind: "429", retryAfterS: 7, count: 1 }] });
    const response = await fetch(`${sandbox.url}/v1/events`, {
      headers: { authorization: `Bearer ${sandbox.stripe.secretKey}` },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(await response.json()).toMatchObject({ error: { code: "rate_limit" } });
    await expect(stripe.events.list()).resolves.toMatchObject({ object: "list" });
  });

  it("hangs a call without answering, so the client's timeout fires", async () => {
    await control("faults", { api: [{ kind: "timeout", hangMs: 5_000, count: 1 }] });
    const impatient = new Stripe(sandbox.stripe.secretKey, {
      host: "127.0.0.1",
      port: Number(new URL(sandbox.url).port),
      protocol: "http",
      maxNetworkRetries: 0,
      timeout: 200,
    });
    const error = (await impatient.events.list().catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const calls = (await control("calls")).body.calls as Array<{ status: number; fault: string | null }>;
    expect(calls).toEqual([expect.objectContaining({ status: 0, fault: "timeout" })]);
  });

  it("fails alert receivers too: Slack 429 with Retry-After", async () => {
    await control("faults", { api: [{ kind: "429", pathPrefix: "/alerts/slack", retryAfterS: 30 }] });
    const response = await fetch(sandbox.alerts.slackUrl, {
      method: "POST",
      body: JSON.stringify({ text: "hi" }),
    });
    expect([response.status, response.headers.get("retry-after"), await response.text()]).toEqual([
      429,
      "30",
      "rate_limited",
    ]);
  });

  it("gives each rate rule its own share of the calls: 5xx, 429 and timeouts all fire", async () => {
    await control("faults", {
      api: [
        { kind: "5xx", status: 503, rate: 0.25, pathPrefix: "/v1" },
        { kind: "429", rate: 0.25, pathPrefix: "/v1" },
        { kind: "timeout", hangMs: 1, rate: 0.25, pathPrefix: "/v1" },
      ],
    });
    const headers = { authorization: `Bearer ${sandbox.stripe.secretKey}` };
    for (let call = 0; call < 80; call += 1)
      await fetch(`${sandbox.url}/v1/events`, { headers })
        .then((response) => response.arrayBuffer())
        .catch(() => null);
    const calls = (await control("calls")).body.calls as Array<{ fault: string | null }>;
    const count = (fault: string | null) => calls.filter((call) => call.fault === fault).length;
    expect(calls).toHaveLength(80);
    for (const fault of ["5xx", "429", "timeout", null]) {
      expect(count(fault)).toBeGreaterThan(8);
      expect(count(fault)).toBeLessThan(32);
    }
    const totals = (await control("totals")).body.calls as { calls: number; byFault: Record<string, number> };
    expect(totals).toEqual({
      calls: 80,
      byFault: { "5xx": count("5xx"), "429": count("429"), timeout: count("timeout") },
    });
  });

  it("rejects a malformed fault description", async () => {
    expect((await control("faults", { api: [{ kind: "explode" }] })).status).toBe(400);
    expect((await control("faults", { delivery: { rules: [{ action: "vanish" }] } })).status).toBe(400);
  });
});

describe("delivery faults over HTTP", () => {
  it("drops the next delivery of a type: the receiver never sees it", async () => {
    await control("faults", {
      delivery: { rules: [{ action: "drop", count: 1, match: { eventType: "checkout.session.expired" } }] },
    });
    const dropped = await expireOrder("ord_f_1");
    const kept = await expireOrder("ord_f_2");
    const log = await deliveryLog();
    expect(log.map((a) => [a.eventId, a.fault, a.status])).toEqual([
      [dropped[0], "drop", "dropped"],
      [kept[0], null, 200],
    ]);
    expect(receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual(kept);
  });

  it("duplicates a delivery: the receiver gets the same signed event n+1 times", async () => {
    await control("faults", { delivery: { rules: [{ action: "duplicate", copies: 4, count: 1 }] } });
    const [eventId] = await expireOrder("ord_f_3");
    const received = await receiver.waitFor(5);
    expect(received.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual(Array(5).fill(eventId));
  });

  it("retries a delivery the receiver refused, with backoff, up to the maximum attempts", async () => {
    await control("faults", { delivery: { retryBaseMs: 5, attemptsMax: 3 } });
    receiver.respondWith(() => 500);
    const [eventId] = await expireOrder("ord_f_4");
    const log = await deliveryLog();
    expect(log.map((a) => [a.eventId, a.attempt, a.status])).toEqual([
      [eventId, 1, 500],
      [eventId, 2, 500],
      [eventId, 3, 500],
    ]);
    expect((await control("totals")).body.deliveries).toEqual({
      attempts: 3,
      byFault: {},
      byStatus: { "500": 3 },
    });
  });

  it("holds a delivery until the sandbox clock passes a time (a payment arriving after expiry)", async () => {
    const { nowMs } = (await control("clock")).body as { nowMs: number };
    const untilMs = nowMs + 2 * 60 * 60 * 1000;
    const match = { eventType: "checkout.session.completed" };
    await control("faults", { delivery: { rules: [{ action: "hold", untilMs, match }] } });
    const [eventId] = (await control("stripe/pay", { orderId: "ord_f_5" })).body.eventIds as string[];
    expect((await deliveryLog()).map((attempt) => attempt.eventId)).not.toContain(eventId);
    expect((await control("deliveries")).body.pending).toMatchObject({ held: 1 });
    await control("clock", { advanceMs: 2 * 60 * 60 * 1000 });
    await deliveryLog();
    const received = receiver.received.find((r) => (JSON.parse(r.body) as { id: string }).id === eventId);
    const event = await stripe.webhooks.constructEventAsync(
      received?.body ?? "",
      received?.headers["stripe-signature"] ?? "",
      sandbox.stripe.webhookSecret,
      300,
      undefined,
      Math.floor(untilMs / 1000) * 1000,
    );
    expect(event.id).toBe(eventId);
  });
});
