// Stripe webhook deliveries from the sandbox, checked independently with stripe-node's own verifier:
// what payguard's webhook route will accept is exactly what the sandbox sends.
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { type Receiver, startReceiver } from "../testing/receiver.ts";

const webhooks = new Stripe("sk_test_verify_only").webhooks;
const cryptoProvider = Stripe.createSubtleCryptoProvider();

interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const verify = (body: string, signature: string, secret: string) =>
  webhooks.constructEventAsync(body, signature, secret, 300, cryptoProvider);

async function control(sandbox: Sandbox, path: string, body: unknown) {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return (await response.json()) as { eventIds: string[]; deliveries: Delivery[] } & Record<string, unknown>;
}

describe("deliveries handed back to the test (no endpoint registered)", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 21 });
  });
  afterAll(() => sandbox.close());

  it("signs a paid checkout.session.completed so constructEventAsync accepts it", async () => {
    const answer = await control(sandbox, "stripe/pay", {
      orderId: "ord_wh_1",
      amountMinor: 1999,
      currency: "USD",
      metadata: { user_id: "u1", package_id: "credits_100" },
    });
    expect(answer.eventIds).toHaveLength(1);
    const [delivery] = answer.deliveries as [Delivery];
    const event = await verify(
      delivery.body,
      delivery.headers["stripe-signature"] as string,
      sandbox.stripe.webhookSecret,
    );
    expect(event.id).toBe(answer.eventIds[0]);
    expect(event.type).toBe("checkout.session.completed");
    expect(event.data.object).toMatchObject({
      object: "checkout.session",
      amount_total: 1999,
      currency: "usd",
      client_reference_id: "ord_wh_1",
      payment_status: "paid",
      status: "complete",
      metadata: { order_id: "ord_wh_1", user_id: "u1", package_id: "credits_100" },
    });
  });

  it("fails verification with another secret or a changed body", async () => {
    const [delivery] = (await control(sandbox, "stripe/pay", { orderId: "ord_wh_2" })).deliveries as [
      Delivery,
    ];
    const signature = delivery.headers["stripe-signature"] as string;
    await expect(verify(delivery.body, signature, "whsec_other")).rejects.toThrow();
    await expect(
      verify(delivery.body.replace("1999", "1"), signature, sandbox.stripe.webhookSecret),
    ).rejects.toThrow();
  });

  it("emits completed (unpaid) then async_payment_succeeded for an async method", async () => {
    const answer = await control(sandbox, "stripe/pay", { orderId: "ord_wh_3", async: "succeeded" });
    const events = answer.deliveries.map((d) => JSON.parse(d.body) as Stripe.Event);
    expect(events.map((e) => [e.type, (e.data.object as Stripe.Checkout.Session).payment_status])).toEqual([
      ["checkout.session.completed", "unpaid"],
      ["checkout.session.async_payment_succeeded", "paid"],
    ]);
  });

  it("emits async_payment_failed for a failed async payment", async () => {
    const answer = await control(sandbox, "stripe/pay", { orderId: "ord_wh_4", async: "failed" });
    expect(answer.deliveries.map((d) => (JSON.parse(d.body) as Stripe.Event).type)).toEqual([
      "checkout.session.completed",
      "checkout.session.async_payment_failed",
    ]);
  });

  it("signs each charge.dispute.* event with the whole dispute, verifiable like any other", async () => {
    const paid = await control(sandbox, "stripe/pay", { orderId: "ord_wh_9", amountMinor: 1000 });
    const opened = await control(sandbox, "stripe/dispute", { orderId: "ord_wh_9" });
    const closed = await control(sandbox, "stripe/dispute/move", {
      disputeId: opened.disputeId,
      step: "lost",
    });
    const deliveries = [...opened.deliveries, ...closed.deliveries];
    const events = await Promise.all(
      deliveries.map((d) =>
        verify(d.body, d.headers["stripe-signature"] as string, sandbox.stripe.webhookSecret),
      ),
    );
    expect(events.map((e) => [e.type, (e.data.object as Stripe.Dispute).status])).toEqual([
      ["charge.dispute.created", "needs_response"],
      ["charge.dispute.funds_withdrawn", "needs_response"],
      ["charge.dispute.closed", "lost"],
    ]);
    expect(events[0]?.data.object).toMatchObject({
      id: opened.disputeId,
      object: "dispute",
      amount: 1000,
      currency: "usd",
      payment_intent: paid.paymentIntentId,
    });
  });

  it("emits charge.refunded with the refunds list and refund.created", async () => {
    await control(sandbox, "stripe/pay", { orderId: "ord_wh_5", amountMinor: 1000 });
    const answer = await control(sandbox, "stripe/refund", { orderId: "ord_wh_5", amountMinor: 400 });
    const [charge, refund] = answer.deliveries.map((d) => JSON.parse(d.body) as Stripe.Event);
    expect(charge?.type).toBe("charge.refunded");
    expect(charge?.data.object).toMatchObject({
      object: "charge",
      amount: 1000,
      amount_refunded: 400,
      refunded: false,
      payment_intent: expect.stringMatching(/^pi_/),
      metadata: { order_id: "ord_wh_5" },
      refunds: { object: "list", data: [{ id: answer.refundId, amount: 400, status: "succeeded" }] },
    });
    expect(charge?.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
    expect(refund).toMatchObject({
      type: "refund.created",
      data: { object: { id: answer.refundId, amount: 400 } },
    });
  });

  it("emits refund.updated and charge.refund.updated when a pending refund succeeds", async () => {
    await control(sandbox, "stripe/pay", { orderId: "ord_wh_6" });
    const pending = await control(sandbox, "stripe/refund", { orderId: "ord_wh_6", status: "pending" });
    const finished = await control(sandbox, "stripe/refund/finish", {
      refundId: pending.refundId,
      status: "succeeded",
    });
    const events = finished.deliveries.map((d) => JSON.parse(d.body) as Stripe.Event);
    expect(events.map((e) => [e.type, (e.data.object as Stripe.Refund).status])).toEqual([
      ["refund.updated", "succeeded"],
      ["charge.refund.updated", "succeeded"],
    ]);
  });

  it("fails a refund that had succeeded: refund.updated, charge.refund.updated, refund.failed; the amount is back", async () => {
    await control(sandbox, "stripe/pay", { orderId: "ord_wh_9", amountMinor: 1999 });
    const { refundId } = await control(sandbox, "stripe/refund", { orderId: "ord_wh_9" });
    const failed = await control(sandbox, "stripe/refund/fail", { refundId });
    const events = failed.deliveries.map((d) => JSON.parse(d.body) as Stripe.Event);
    expect(events.map((e) => [e.type, (e.data.object as Stripe.Refund).status])).toEqual([
      ["refund.updated", "failed"],
      ["charge.refund.updated", "failed"],
      ["refund.failed", "failed"],
    ]);
    const again = await control(sandbox, "stripe/refund/fail", { refundId });
    expect(again.error).toBe("no succeeded refund with that id");
    const refundedAgain = await control(sandbox, "stripe/refund", { orderId: "ord_wh_9" });
    expect(refundedAgain.refundId).toMatch(/^re_/);
    const paymentIntent = (events[0]?.data.object as Stripe.Refund | undefined)?.payment_intent;
    const { refunds } = (await fetch(`${sandbox.url}/_control/stripe/refunds`).then((r) => r.json())) as {
      refunds: Stripe.Refund[];
    };
    expect(refunds.filter((r) => r.payment_intent === paymentIntent).map((r) => r.status)).toEqual([
      "failed",
      "succeeded",
    ]);
  });

  it("emits checkout.session.expired when an order's session is expired, and refuses unknown orders", async () => {
    await control(sandbox, "stripe/abandon", { orderId: "ord_wh_7" });
    const answer = await control(sandbox, "stripe/expire", { orderId: "ord_wh_7" });
    expect(answer.deliveries.map((d) => (JSON.parse(d.body) as Stripe.Event).type)).toEqual([
      "checkout.session.expired",
    ]);
    const refused = await fetch(`${sandbox.url}/_control/stripe/refund`, {
      method: "POST",
      body: JSON.stringify({ orderId: "ord_never_paid", amountMinor: 1 }),
    });
    expect(refused.status).toBe(404);
  });

  it("re-signs a stored event at a chosen time, so a stale timestamp can be tested", async () => {
    const { eventIds } = await control(sandbox, "stripe/pay", { orderId: "ord_wh_8" });
    const staleMs = Date.now() - 301_000;
    const { delivery } = (await control(sandbox, "stripe/sign", {
      eventId: eventIds[0],
      atMs: staleMs,
    })) as unknown as {
      delivery: Delivery;
    };
    const signature = delivery.headers["stripe-signature"] as string;
    expect(signature.startsWith(`t=${Math.floor(staleMs / 1000)},v1=`)).toBe(true);
    await expect(verify(delivery.body, signature, sandbox.stripe.webhookSecret)).rejects.toThrow(/tolerance/);
  });
});

describe("deliveries sent to the registered endpoint", () => {
  let sandbox: Sandbox;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ seed: 22, stripeWebhookUrl: receiver.url });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  it("registers one enabled endpoint that subscribes to what payguard handles", async () => {
    const { port } = new URL(sandbox.url);
    const stripe = new Stripe(sandbox.stripe.secretKey, {
      host: "127.0.0.1",
      port: Number(port),
      protocol: "http",
    });
    const { data } = await stripe.webhookEndpoints.list();
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ url: receiver.url, status: "enabled" });
    expect(data[0]?.enabled_events).toEqual(
      expect.arrayContaining([
        "checkout.session.completed",
        "checkout.session.expired",
        "charge.refunded",
        "refund.created",
      ]),
    );
  });

  it("POSTs signed events that verify, and returns no deliveries to the caller", async () => {
    const answer = await control(sandbox, "stripe/pay", { orderId: "ord_wh_9", async: "succeeded" });
    expect(answer.deliveries).toEqual([]);
    expect(answer.paymentDeliveries).toEqual([]);
    await fetch(`${sandbox.url}/_control/deliveries?wait=1`);
    const events = await Promise.all(
      receiver.received.map((r) =>
        verify(r.body, r.headers["stripe-signature"] as string, sandbox.stripe.webhookSecret),
      ),
    );
    const ids = events.map((e) => e.id);
    // The session's events, and those of its PaymentIntent that payguard's endpoint subscribes to.
    expect(ids).toEqual(expect.arrayContaining(answer.eventIds));
    const stepIds = [...answer.eventIds, ...(answer.paymentEventIds as string[])];
    expect(ids.filter((id) => !stepIds.includes(id))).toEqual([]);
    expect(receiver.received[0]?.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("still hands deliveries back when asked with deliver: false", async () => {
    const before = receiver.received.length;
    const answer = await control(sandbox, "stripe/pay", { orderId: "ord_wh_10", deliver: false });
    expect(answer.deliveries).toHaveLength(1);
    expect(answer.deliveries[0]?.url).toBe(receiver.url);
    const log = await (await fetch(`${sandbox.url}/_control/deliveries?wait=1`)).json();
    expect(
      (log as { deliveries: Array<{ eventId: string }> }).deliveries.map((d) => d.eventId),
    ).not.toContain(answer.eventIds[0]);
    expect(receiver.received.length).toBe(before);
  });
});

describe("events.list delivery_success and per-endpoint call counts", () => {
  let sandbox: Sandbox;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ seed: 23, stripeWebhookUrl: receiver.url });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  it("lists failed deliveries with delivery_success=false and delivered ones with true", async () => {
    const { port } = new URL(sandbox.url);
    const stripe = new Stripe(sandbox.stripe.secretKey, {
      host: "127.0.0.1",
      port: Number(port),
      protocol: "http",
    });
    const delivered = await control(sandbox, "stripe/pay", { orderId: "ord_ds_1" });
    await fetch(`${sandbox.url}/_control/deliveries?wait=1`);
    await fetch(`${sandbox.url}/_control/faults`, {
      method: "POST",
      body: JSON.stringify({ delivery: { rules: [{ action: "drop" }], attemptsMax: 1 } }),
    });
    const dropped = await control(sandbox, "stripe/pay", { orderId: "ord_ds_2" });
    await fetch(`${sandbox.url}/_control/deliveries?wait=1`);
    // The sessions' own events: what payguard's endpoint gets of their PaymentIntents depends on its list.
    const types = ["checkout.session.completed"];
    const failing = await stripe.events.list({ delivery_success: false, types });
    const succeeded = await stripe.events.list({ delivery_success: true, types });
    expect(failing.data.map((e) => e.id)).toEqual(dropped.eventIds);
    expect(succeeded.data.map((e) => e.id)).toEqual(delivered.eventIds);
    const { counts } = (await (await fetch(`${sandbox.url}/_control/calls/counts`)).json()) as {
      counts: Record<string, number>;
    };
    expect(counts).toEqual({ "GET /v1/events": 2 });
  });
});
