// The Stripe simulator driven by the real stripe-node client: if stripe-node accepts these answers,
// payguard's Stripe adapter will too.
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";

let sandbox: Sandbox;
let stripe: Stripe;

const clientFor = (key: string) => {
  const { port } = new URL(sandbox.url);
  return new Stripe(key, { host: "127.0.0.1", port: Number(port), protocol: "http", maxNetworkRetries: 0 });
};

const control = async (path: string, body: unknown) => {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown> & { eventIds: string[] };
};

const newSession = (orderId: string, extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) =>
  stripe.checkout.sessions.create({
    mode: "payment",
    client_reference_id: orderId,
    line_items: [
      { quantity: 2, price_data: { currency: "usd", unit_amount: 750, product_data: { name: "Credits" } } },
    ],
    metadata: { order_id: orderId, user_id: "u1", package_id: "credits_100" },
    payment_intent_data: { metadata: { order_id: orderId } },
    success_url: "https://app.example.com/ok?session={CHECKOUT_SESSION_ID}",
    ...extra,
  });

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 11 });
  stripe = clientFor(sandbox.stripe.secretKey);
});
afterAll(() => sandbox.close());

describe("Checkout Sessions", () => {
  it("creates, retrieves and expires a session shaped like Stripe's", async () => {
    const created = await newSession("ord_api_1");
    expect(created).toMatchObject({
      object: "checkout.session",
      amount_total: 1500,
      currency: "usd",
      client_reference_id: "ord_api_1",
      livemode: false,
      mode: "payment",
      payment_status: "unpaid",
      status: "open",
      metadata: { order_id: "ord_api_1", user_id: "u1", package_id: "credits_100" },
    });
    expect(created.id).toMatch(/^cs_test_/);
    expect(created.url?.startsWith(`${sandbox.url}/`)).toBe(true);
    expect(created.expires_at - created.created).toBe(24 * 60 * 60);
    expect((await stripe.checkout.sessions.retrieve(created.id)).id).toBe(created.id);
    const expired = await stripe.checkout.sessions.expire(created.id);
    expect(expired).toMatchObject({ status: "expired", url: null });
  });

  it("refuses to expire a session that is not open, with Stripe's error shape", async () => {
    const created = await newSession("ord_api_2");
    await stripe.checkout.sessions.expire(created.id);
    const error = await stripe.checkout.sessions.expire(created.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(400);
  });

  it("answers 404 resource_missing for an unknown session", async () => {
    const error = (await stripe.checkout.sessions
      .retrieve("cs_test_nope")
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe("resource_missing");
    expect(error.param).toBe("session");
  });

  it("rejects expires_at outside 30 minutes to 24 hours with param expires_at", async () => {
    const tooSoon = Math.floor(Date.now() / 1000) + 60;
    const error = (await newSession("ord_api_3", { expires_at: tooSoon }).catch(
      (e: unknown) => e,
    )) as Stripe.errors.StripeError;
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("expires_at");
  });

  it("shows a paid session with its payment intent after the customer pays", async () => {
    const created = await newSession("ord_api_4");
    await control("stripe/pay", { orderId: "ord_api_4" });
    const paid = await stripe.checkout.sessions.retrieve(created.id);
    expect(paid).toMatchObject({ status: "complete", payment_status: "paid" });
    expect(paid.payment_intent).toMatch(/^pi_/);
  });

  it("lists the session of a payment intent (`payment_intent` filter), and none for an unknown one", async () => {
    const created = await newSession("ord_api_7");
    await newSession("ord_api_8");
    await control("stripe/pay", { orderId: "ord_api_7" });
    const intent = (await stripe.checkout.sessions.retrieve(created.id)).payment_intent as string;
    const listed = await stripe.checkout.sessions.list({ payment_intent: intent, limit: 1 });
    expect(listed.data.map((session) => session.id)).toEqual([created.id]);
    expect(listed.has_more).toBe(false);
    expect((await stripe.checkout.sessions.list({ payment_intent: "pi_unknown" })).data).toEqual([]);
  });

  it("completes a session armed to pay at the expire call, then refuses that expiry as not open", async () => {
    const created = await newSession("ord_api_5");
    await control("stripe/pay", { orderId: "ord_api_5", sessionId: created.id, atExpire: true });
    expect((await stripe.checkout.sessions.retrieve(created.id)).status).toBe("open");
    const error = (await stripe.checkout.sessions
      .expire(created.id)
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("checkout_session_not_open");
    expect(await stripe.checkout.sessions.retrieve(created.id)).toMatchObject({
      status: "complete",
      payment_status: "paid",
    });
    const completed = await stripe.events.list({ type: "checkout.session.completed", limit: 100 });
    expect(
      completed.data.filter((event) => (event.data.object as { id: string }).id === created.id),
    ).toHaveLength(1);
  });
});

const HOUR_MS = 60 * 60 * 1000;

describe("what a completed session says about its payment", () => {
  const eventsOf = async (id: string) =>
    (await stripe.events.list({ limit: 100 })).data.filter(
      (event) => (event.data.object as { id?: string; payment_intent?: unknown }).id === id,
    );

  it("dates the PaymentIntent, its charge and the completed event at payment time, and expands them", async () => {
    const created = await newSession("ord_api_9");
    const paid = await control("stripe/pay", { orderId: "ord_api_9", sessionId: created.id });
    const paidAtS = (await eventsOf(created.id))[0]?.created as number;
    await control("clock", { advanceMs: HOUR_MS });
    const session = await stripe.checkout.sessions.retrieve(created.id, {
      expand: ["payment_intent.latest_charge"],
    });
    await control("clock", { advanceMs: -HOUR_MS });
    const intent = session.payment_intent as Stripe.PaymentIntent;
    expect(intent).toMatchObject({ id: paid.paymentIntentId, object: "payment_intent", status: "succeeded" });
    expect(intent.created).toBe(paidAtS);
    expect((intent.latest_charge as Stripe.Charge).created).toBe(paidAtS);
    const listed = await stripe.checkout.sessions.list({
      payment_intent: String(paid.paymentIntentId),
      expand: ["data.payment_intent"],
    });
    expect(listed.data[0]?.payment_intent).toMatchObject({ created: paidAtS });
    // The stored session still names its intent by id.
    expect((await stripe.checkout.sessions.retrieve(created.id)).payment_intent).toBe(paid.paymentIntentId);
    const refused = (await stripe.checkout.sessions
      .retrieve(created.id, { expand: ["customer_email"] })
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(refused.statusCode).toBe(400);
    expect(refused.param).toBe("expand");
  });

  it("completes a session under a 100 % promotion code as no_payment_required, without a PaymentIntent", async () => {
    const created = await newSession("ord_api_10");
    const paid = await control("stripe/pay", {
      orderId: "ord_api_10",
      sessionId: created.id,
      discountMinor: 1500,
    });
    expect(paid.paymentIntentId).toBe("");
    const session = await stripe.checkout.sessions.retrieve(created.id, { expand: ["payment_intent"] });
    expect(session).toMatchObject({
      status: "complete",
      payment_status: "no_payment_required",
      amount_subtotal: 1500,
      amount_total: 0,
      total_details: { amount_discount: 1500 },
      payment_intent: null,
    });
    const [event] = await eventsOf(created.id);
    expect(event?.type).toBe("checkout.session.completed");
  });

  it("takes a partial promotion code off the amount charged", async () => {
    const created = await newSession("ord_api_11");
    await control("stripe/pay", { orderId: "ord_api_11", sessionId: created.id, discountMinor: 500 });
    const session = await stripe.checkout.sessions.retrieve(created.id, { expand: ["payment_intent"] });
    expect(session).toMatchObject({
      payment_status: "paid",
      amount_total: 1000,
      total_details: { amount_discount: 500 },
    });
    expect((session.payment_intent as Stripe.PaymentIntent).amount).toBe(1000);
  });

  it("leaves an async payment processing until it succeeds, with the matching events", async () => {
    const created = await newSession("ord_api_12");
    await control("stripe/pay", { orderId: "ord_api_12", sessionId: created.id, async: "pending" });
    const pending = await stripe.checkout.sessions.retrieve(created.id, { expand: ["payment_intent"] });
    expect(pending).toMatchObject({ status: "complete", payment_status: "unpaid" });
    expect((pending.payment_intent as Stripe.PaymentIntent).status).toBe("processing");
    const finished = await control("stripe/pay/finish", { orderId: "ord_api_12", status: "succeeded" });
    expect(finished.sessionId).toBe(created.id);
    const paid = await stripe.checkout.sessions.retrieve(created.id, { expand: ["payment_intent"] });
    expect(paid.payment_status).toBe("paid");
    expect((paid.payment_intent as Stripe.PaymentIntent).status).toBe("succeeded");
    const types = (await eventsOf(created.id)).map((event) => event.type);
    expect(types).toEqual(["checkout.session.async_payment_succeeded", "checkout.session.completed"]);
    const again = await fetch(`${sandbox.url}/_control/stripe/pay/finish`, {
      method: "POST",
      body: JSON.stringify({ sessionId: created.id, status: "failed" }),
    });
    expect(again.status).toBe(409);
  });

  it("fails an async payment: the session stays complete and unpaid, its intent needs a payment method", async () => {
    const created = await newSession("ord_api_13");
    await control("stripe/pay", { orderId: "ord_api_13", sessionId: created.id, async: "pending" });
    await control("stripe/pay/finish", { sessionId: created.id, status: "failed" });
    const failed = await stripe.checkout.sessions.retrieve(created.id, { expand: ["payment_intent"] });
    expect(failed).toMatchObject({ status: "complete", payment_status: "unpaid" });
    expect((failed.payment_intent as Stripe.PaymentIntent).status).toBe("requires_payment_method");
    expect((await eventsOf(created.id))[0]?.type).toBe("checkout.session.async_payment_failed");
  });
});

describe("disputes", () => {
  const disputeEvents = async (disputeId: string) =>
    (await stripe.events.list({ limit: 100, type: "charge.dispute.*" })).data
      .filter((event) => (event.data.object as Stripe.Dispute).id === disputeId)
      .reverse();

  it("opens a chargeback on a paid charge, takes evidence, and closes it won with the funds reinstated", async () => {
    const paid = await control("stripe/pay", { orderId: "ord_dp_1", amountMinor: 2000 });
    const opened = await control("stripe/dispute", { orderId: "ord_dp_1" });
    const disputeId = String(opened.disputeId);
    expect(opened.paymentIntentId).toBe(paid.paymentIntentId);
    const dispute = await stripe.disputes.retrieve(disputeId);
    expect(dispute).toMatchObject({
      object: "dispute",
      amount: 2000,
      currency: "usd",
      payment_intent: paid.paymentIntentId,
      status: "needs_response",
      livemode: false,
    });
    expect(dispute.id).toMatch(/^dp_/);
    expect(dispute.charge).toMatch(/^ch_/);
    const again = await fetch(`${sandbox.url}/_control/stripe/dispute`, {
      method: "POST",
      body: JSON.stringify({ orderId: "ord_dp_1" }),
    });
    expect(again.status).toBe(409);
    await control("stripe/dispute/move", { disputeId, step: "respond" });
    await control("stripe/dispute/move", { disputeId, step: "won" });
    const events = await disputeEvents(disputeId);
    expect(events.map((event) => `${event.type} ${(event.data.object as Stripe.Dispute).status}`)).toEqual([
      "charge.dispute.created needs_response",
      "charge.dispute.funds_withdrawn needs_response",
      "charge.dispute.updated under_review",
      "charge.dispute.closed won",
      "charge.dispute.funds_reinstated won",
    ]);
    expect(events[2]?.data.previous_attributes).toEqual({ status: "needs_response" });
    expect((await stripe.disputes.retrieve(disputeId)).status).toBe("won");
  });

  it("closes a lost dispute with no reinstatement, and refuses to move a closed one", async () => {
    await control("stripe/pay", { orderId: "ord_dp_2" });
    const { disputeId } = await control("stripe/dispute", { orderId: "ord_dp_2", amountMinor: 700 });
    await control("stripe/dispute/move", { disputeId, step: "lost" });
    const events = await disputeEvents(String(disputeId));
    expect(events.map((event) => event.type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.funds_withdrawn",
      "charge.dispute.closed",
    ]);
    expect(events[2]?.data.object).toMatchObject({ amount: 700 });
    const moved = await fetch(`${sandbox.url}/_control/stripe/dispute/move`, {
      method: "POST",
      body: JSON.stringify({ disputeId, step: "won" }),
    });
    expect(moved.status).toBe(409);
  });
});

describe("hosted Checkout page", () => {
  it("shows the amount, and paying redirects to success_url with the session id", async () => {
    const created = await newSession("ord_api_6");
    const page = await fetch(created.url as string);
    expect(await page.text()).toContain("Pay 15.00 USD");
    const paid = await fetch(created.url as string, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`https://app.example.com/ok?session=${created.id}`);
    expect(await stripe.checkout.sessions.retrieve(created.id)).toMatchObject({
      status: "complete",
      payment_status: "paid",
    });
    const { data } = await stripe.events.list({ limit: 1, types: ["checkout.session.completed"] });
    expect(data.map((event) => (event.data.object as Stripe.Checkout.Session).id)).toEqual([created.id]);
  });
});

describe("authentication and idempotency", () => {
  it("answers a wrong API key with Stripe's 401", async () => {
    const error = (await clientFor("sk_test_wrong_key_123456")
      .events.list()
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    expect(error.type).toBe("StripeAuthenticationError");
    expect(error.message).toMatch(/^Invalid API Key provided: sk_test_\*+3456$/);
  });

  it("answers a request without a key with 401 and the Stripe envelope", async () => {
    const response = await fetch(`${sandbox.url}/v1/events`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: { type: "invalid_request_error", message: expect.any(String) },
    });
  });

  it("replays the first answer for a repeated Idempotency-Key and refuses other parameters under it", async () => {
    const params = (unitAmount: number): Stripe.Checkout.SessionCreateParams => ({
      mode: "payment",
      client_reference_id: "ord_api_5",
      line_items: [
        {
          quantity: 1,
          price_data: { currency: "usd", unit_amount: unitAmount, product_data: { name: "x" } },
        },
      ],
    });
    const idempotencyKey = "idem-order-5";
    const first = await stripe.checkout.sessions.create(params(100), { idempotencyKey });
    const replay = await stripe.checkout.sessions.create(params(100), { idempotencyKey });
    expect(replay.id).toBe(first.id);
    expect(replay.lastResponse.headers["idempotent-replayed"]).toBe("true");
    const other = await stripe.checkout.sessions.create(params(100));
    expect(other.id).not.toBe(first.id);
    const conflict = await stripe.checkout.sessions
      .create(params(200), { idempotencyKey })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });
});

describe("events.list", () => {
  it("pages newest first with starting_after and ending_before, and filters by types[]", async () => {
    const paid: Array<Record<string, unknown>> = [];
    for (const orderId of ["ord_ev_1", "ord_ev_2", "ord_ev_3"])
      paid.push(await control("stripe/pay", { orderId }));
    await control("stripe/refund", { orderId: "ord_ev_1", amountMinor: 100 });
    const types = ["checkout.session.completed"];
    const first = await stripe.events.list({ limit: 2, types });
    expect(first.data.map((e) => e.type)).toEqual(types.concat(types));
    expect(first.has_more).toBe(true);
    const orderOf = (event: Stripe.Event) =>
      (event.data.object as Stripe.Checkout.Session).client_reference_id;
    const all = await stripe.events.list({ limit: 100, types });
    const ours = all.data.map(orderOf).filter((id) => id?.startsWith("ord_ev_"));
    expect(ours).toEqual(["ord_ev_3", "ord_ev_2", "ord_ev_1"]);
    const last = first.data[1] as Stripe.Event;
    const next = await stripe.events.list({ limit: 2, types, starting_after: last.id });
    expect(next.data[0]?.created).toBeLessThanOrEqual(last.created);
    expect(next.data.map((e) => e.id)).not.toContain(last.id);
    const back = await stripe.events.list({ limit: 2, types, ending_before: next.data[0]?.id });
    expect(back.data.map((e) => e.id)).toEqual(first.data.map((e) => e.id));
    // Other tests of this file refund too: only the events of ord_ev_1's payment are this test's.
    const refunds = await stripe.events.list({ limit: 100, types: ["charge.refunded", "refund.created"] });
    const ofOrder = refunds.data.filter(
      (e) => (e.data.object as { payment_intent?: unknown }).payment_intent === paid[0]?.paymentIntentId,
    );
    expect(ofOrder.map((e) => e.type).sort()).toEqual(["charge.refunded", "refund.created"]);
  });

  it("walks every page with the client's auto-pagination", async () => {
    // More events than one page of 3, whatever the other tests left.
    for (const orderId of ["ord_page_1", "ord_page_2", "ord_page_3", "ord_page_4"])
      await control("stripe/pay", { orderId });
    const seen: string[] = [];
    for await (const event of stripe.events.list({ limit: 3 })) seen.push(event.id);
    const all = await stripe.events.list({ limit: 100 });
    expect(seen).toEqual(all.data.map((e) => e.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(3);
  });

  it("filters by created range and retrieves a single event with api_version", async () => {
    await control("stripe/pay", { orderId: "ord_range_1" });
    const nowS = Math.floor(Date.now() / 1000);
    const recent = await stripe.events.list({ created: { gte: nowS - 600 }, limit: 1 });
    const event = recent.data[0] as Stripe.Event;
    expect(await stripe.events.retrieve(event.id)).toMatchObject({
      id: event.id,
      object: "event",
      livemode: false,
    });
    expect(event.api_version).toBe("2026-10-28.endive");
    expect((await stripe.events.list({ created: { lt: nowS - 600 } })).data).toEqual([]);
  });
});

describe("refunds", () => {
  it("refunds part of a payment by payment_intent and retrieves the refund", async () => {
    const paid = await control("stripe/pay", { orderId: "ord_rf_1", amountMinor: 2000 });
    const refund = await stripe.refunds.create({ payment_intent: String(paid.paymentIntentId), amount: 500 });
    expect(refund).toMatchObject({ object: "refund", amount: 500, currency: "usd", status: "succeeded" });
    expect(refund.id).toMatch(/^re_/);
    expect((await stripe.refunds.retrieve(refund.id)).charge).toMatch(/^ch_/);
    const tooMuch = (await stripe.refunds
      .create({ payment_intent: String(paid.paymentIntentId), amount: 1501 })
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(tooMuch.statusCode).toBe(400);
    expect(tooMuch.param).toBe("amount");
  });
});

describe("webhook endpoints", () => {
  it("creates, lists and updates endpoints; the secret is shown only at creation", async () => {
    const created = await stripe.webhookEndpoints.create({
      url: "https://payguard.example/webhooks/stripe",
      enabled_events: ["checkout.session.completed"],
    });
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await stripe.webhookEndpoints.list();
    const mine = listed.data.find((endpoint) => endpoint.id === created.id);
    expect(mine).toMatchObject({ status: "enabled", enabled_events: ["checkout.session.completed"] });
    expect(mine?.secret).toBeUndefined();
    const updated = await stripe.webhookEndpoints.update(created.id, {
      disabled: true,
      enabled_events: ["checkout.session.completed", "charge.refunded"],
      url: "https://payguard.example/v2/webhooks/stripe",
    });
    expect(updated).toMatchObject({ status: "disabled", url: "https://payguard.example/v2/webhooks/stripe" });
    expect(updated.enabled_events).toEqual(["checkout.session.completed", "charge.refunded"]);
    await stripe.webhookEndpoints.del(created.id);
    expect((await stripe.webhookEndpoints.list()).data.map((e) => e.id)).not.toContain(created.id);
  });
});

describe("PaymentIntents created by the app (Payment Element)", () => {
  const eventsOf = async (intentId: string) =>
    (await stripe.events.list({ limit: 100, type: "payment_intent.*" })).data
      .filter((event) => (event.data.object as { id: string }).id === intentId)
      .map((event) => event.type)
      .reverse();
  const newIntent = (orderId: string) =>
    stripe.paymentIntents.create(
      { amount: 1999, currency: "usd", metadata: { order_id: orderId, user_id: "u1" } },
      { idempotencyKey: `pi-${orderId}` },
    );

  it("creates an intent awaiting a payment method, with a client secret, replayed under its idempotency key", async () => {
    const created = await newIntent("ord_pi_1");
    expect(created).toMatchObject({
      object: "payment_intent",
      amount: 1999,
      currency: "usd",
      status: "requires_payment_method",
      metadata: { order_id: "ord_pi_1", user_id: "u1" },
      latest_charge: null,
      livemode: false,
    });
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_`));
    expect((await newIntent("ord_pi_1")).id).toBe(created.id);
    expect((await stripe.paymentIntents.retrieve(created.id)).status).toBe("requires_payment_method");
    expect(await eventsOf(created.id)).toEqual(["payment_intent.created"]);
  });

  it("declines a card (the intent waits for another method), then succeeds with a charge", async () => {
    const created = await newIntent("ord_pi_2");
    await control("stripe/payment_intent/confirm", { paymentIntentId: created.id, outcome: "declined" });
    const declined = await stripe.paymentIntents.retrieve(created.id);
    expect(declined).toMatchObject({ status: "requires_payment_method", latest_charge: null });
    expect(declined.last_payment_error).toMatchObject({ type: "card_error", code: "card_declined" });
    await control("stripe/payment_intent/confirm", { paymentIntentId: created.id });
    const paid = await stripe.paymentIntents.retrieve(created.id);
    expect(paid).toMatchObject({ status: "succeeded", amount_received: 1999, last_payment_error: null });
    expect(await stripe.charges.retrieve(paid.latest_charge as string)).toMatchObject({
      object: "charge",
      payment_intent: created.id,
      paid: true,
    });
    expect(await eventsOf(created.id)).toEqual([
      "payment_intent.created",
      "payment_intent.payment_failed",
      "payment_intent.succeeded",
    ]);
  });

  it("cancels an unpaid intent, and refuses to cancel a paid one, a canceled one or Checkout's own", async () => {
    const created = await newIntent("ord_pi_3");
    const canceled = await stripe.paymentIntents.cancel(created.id, { cancellation_reason: "abandoned" });
    expect(canceled).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    expect(await eventsOf(created.id)).toEqual(["payment_intent.created", "payment_intent.canceled"]);
    const refusal = async (id: string) =>
      (await stripe.paymentIntents.cancel(id).catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(await refusal(created.id)).toMatchObject({
      statusCode: 400,
      code: "payment_intent_unexpected_state",
    });
    const paid = await newIntent("ord_pi_4");
    await control("stripe/payment_intent/confirm", { paymentIntentId: paid.id });
    expect(await refusal(paid.id)).toMatchObject({
      statusCode: 400,
      code: "payment_intent_unexpected_state",
    });
    const session = await newSession("ord_pi_5");
    await control("stripe/pay", { orderId: "ord_pi_5", async: "pending" });
    const intentId = (await stripe.checkout.sessions.retrieve(session.id)).payment_intent as string;
    expect((await refusal(intentId)).message).toMatch(/expire the Checkout Session/);
    const confirmAgain = await fetch(`${sandbox.url}/_control/stripe/payment_intent/confirm`, {
      method: "POST",
      body: JSON.stringify({ paymentIntentId: paid.id }),
    });
    expect(confirmAgain.status).toBe(409);
  });

  it("refunds the order of a paid intent, found by its metadata", async () => {
    const created = await newIntent("ord_pi_6");
    await control("stripe/payment_intent/confirm", { paymentIntentId: created.id });
    const refunded = await control("stripe/refund", { orderId: "ord_pi_6", amountMinor: 500 });
    const refund = await stripe.refunds.retrieve(refunded.refundId as string);
    expect(refund).toMatchObject({ payment_intent: created.id, amount: 500 });
  });

  it("answers a missing amount or currency as Stripe does", async () => {
    const error = (await stripe.paymentIntents
      .create({ amount: 0, currency: "usd" })
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toMatchObject({ statusCode: 400, param: "amount" });
  });
});
