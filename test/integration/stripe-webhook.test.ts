import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { STRIPE_WEBHOOK_BODY_MAX_BYTES } from "../../src/http/webhooks-stripe.ts";
import { OUTBOX_MIN_AGE_SECONDS } from "../../src/ledger/incident-outbox.ts";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import {
  rpcCallsDuring,
  seedPackage,
  serveFirstRequest,
  setDatabaseDown,
  sql,
} from "../support/worker/harness.ts";
import { runCron } from "../support/worker/reconcile.ts";
import {
  createOrder,
  deliverStripe,
  inboxCount,
  ledgerOf,
  orderStatus,
  postSignedStripe,
  postStripe,
  signStripe,
  stripeScenario,
} from "../support/worker/stripe.ts";

const newUser = () => crypto.randomUUID();

async function paidDeliveries(orderId: string, extra: Record<string, unknown> = {}) {
  return stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd", ...extra });
}

beforeAll(seedPackage);

describe("Stripe webhook: exactly-once credits", () => {
  it("credits a paid Checkout Session once", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("credits once when the same event arrives 20 times at once, plus the async success event", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId, { async: "succeeded" });
    const types = deliveries.map((d) => (JSON.parse(d.body) as { type: string }).type);
    expect(types).toEqual(["checkout.session.completed", "checkout.session.async_payment_succeeded"]);
    const [completed, succeeded] = deliveries as [(typeof deliveries)[0], (typeof deliveries)[0]];
    const storm = Array.from({ length: 20 }, () => deliverStripe(succeeded));
    const responses = await Promise.all([...storm, deliverStripe(completed)]);
    expect(responses.map((r) => r.status)).toEqual(Array(21).fill(200));
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("rebuilds an order whose row was never written from the session metadata, and credits it", async () => {
    const user = newUser();
    const orderId = `ord_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const { deliveries } = await paidDeliveries(orderId, {
      metadata: { user_id: user, package_id: "credits_100" },
    });
    for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
    const timeline = await sql<{ kind: string }>(
      "select kind from payguard.order_events where order_id = $1",
      [orderId],
    );
    expect(timeline.map((e) => e.kind)).toContain("created_from_metadata");
  });

  it("marks a payment of the wrong amount for review, answers 2xx and credits nothing", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId, { amountMinor: 999 });
    for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("needs_review");
    expect((await ledgerOf(user)).balance).toBe(0);
    const incidents = await sql<{ severity: string }>(
      "select severity from payguard.incidents where key = $1",
      [`needs_review:${orderId}`],
    );
    expect(incidents).toEqual([{ severity: "critical" }]);
  });

  it("accepts events signed with the previous secret during rotation", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    const body = deliveries[0]?.body ?? "";
    const response = await postStripe(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET_PREVIOUS));
    expect(response.status).toBe(200);
    expect((await ledgerOf(user)).balance).toBe(100);
  });

  it("acknowledges unknown event types and records them as ignored", async () => {
    const response = await postSignedStripe({
      id: "evt_unknown_type_1",
      object: "event",
      type: "customer.created",
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: "cus_1", object: "customer" } },
    });
    expect(response.status).toBe(200);
    const rows = await sql<{ status: string }>(
      "select status from payguard.webhook_events where event_id = $1",
      ["evt_unknown_type_1"],
    );
    expect(rows).toEqual([{ status: "ignored" }]);
  });
});

describe("Stripe webhook: a signed event without a usable data.object", () => {
  beforeAll(serveFirstRequest);
  const inboxRow = async (eventId: string) =>
    sql<{ event_type: string; status: string; last_error: string | null }>(
      "select event_type, status, last_error from payguard.webhook_events where provider = 'stripe' and event_id = $1",
      [eventId],
    );
  const sha256Hex = async (text: string) =>
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
      (byte) => byte.toString(16).padStart(2, "0"),
    ).join("");

  it("is answered 200 ignored, its reason in the inbox, nothing else written; a redelivery is a duplicate", async () => {
    const orderId = await createOrder(newUser());
    const createdS = Math.floor(Date.now() / 1000);
    const session = { id: `cs_test_${crypto.randomUUID()}`, client_reference_id: orderId };
    const base = { object: "event", type: "checkout.session.completed", created: createdS };
    const cases = [
      [{ ...base }, "malformed: no data"],
      [{ ...base, data: "paid" }, "malformed: no data"],
      [{ ...base, data: { previous_attributes: {} } }, "malformed: no data.object"],
      [{ ...base, data: { object: [session] } }, "malformed: no data.object"],
      [{ ...base, type: undefined, data: { object: session } }, "malformed: no type"],
      [{ ...base, id: undefined, data: { object: session } }, "malformed: no id"],
    ] as const;
    for (const [event, reason] of cases) {
      const id = "id" in event ? null : `evt_unusable_${crypto.randomUUID()}`;
      const body = JSON.stringify({ id: id ?? undefined, ...event });
      const signature = await signStripe(body, env.STRIPE_WEBHOOK_SECRET);
      let response: Response | undefined;
      const calls = await rpcCallsDuring(async () => {
        response = await postStripe(body, signature);
      });
      expect(response?.status).toBe(200);
      expect(await response?.json()).toEqual({ received: true, outcome: "ignored" });
      expect(calls).toEqual({ settle_event: 1 });
      const eventId = id ?? `unusable_${await sha256Hex(body)}`;
      const type = "type" in event && event.type ? event.type : "unknown";
      expect(await inboxRow(eventId)).toEqual([{ event_type: type, status: "ignored", last_error: reason }]);
      const again = await postStripe(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET));
      expect(await again.json()).toEqual({ received: true, duplicate: true });
    }
    expect(await orderStatus(orderId)).toBe("pending");
  });
});

describe("Stripe webhook: bad input changes nothing", () => {
  async function expectRejected(body: string, signature: string | null, status = 400) {
    const user = newUser();
    const inboxBefore = await inboxCount();
    const response = await postStripe(body, signature);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: expect.any(String) });
    expect(await inboxCount()).toBe(inboxBefore);
    expect((await ledgerOf(user)).balance).toBe(0);
  }

  async function validBody() {
    const orderId = await createOrder(newUser());
    const { deliveries } = await paidDeliveries(orderId);
    return { orderId, body: deliveries[0]?.body ?? "" };
  }

  it("rejects a forged signature", async () => {
    const { body, orderId } = await validBody();
    await expectRejected(body, `t=${Math.floor(Date.now() / 1000)},v1=${"ab".repeat(32)}`);
    expect(await orderStatus(orderId)).toBe("pending");
  });

  it("rejects a payload signed with the wrong secret", async () => {
    const { body } = await validBody();
    await expectRejected(body, await signStripe(body, "whsec_not_ours"));
  });

  it("rejects a tampered body", async () => {
    const { body } = await validBody();
    const signature = await signStripe(body, env.STRIPE_WEBHOOK_SECRET);
    await expectRejected(body.replace('"amount_total":1999', '"amount_total":1'), signature);
  });

  it("rejects a stale timestamp", async () => {
    const { body } = await validBody();
    const staleS = Math.floor(Date.now() / 1000) - 301;
    await expectRejected(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET, staleS));
  });

  it("rejects a missing signature header", async () => {
    const { body } = await validBody();
    await expectRejected(body, null);
  });

  it("rejects malformed JSON even with a valid signature", async () => {
    const body = '{"id": "evt_broken", "type": ';
    await expectRejected(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET));
  });

  it("rejects an oversized body with 413 before verifying anything", async () => {
    const body = JSON.stringify({ padding: "x".repeat(STRIPE_WEBHOOK_BODY_MAX_BYTES) });
    await expectRejected(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET), 413);
  });
});

describe("Stripe webhook: failures are retried, never lost", () => {
  it("answers 5xx while the database is down and credits once when the event is redelivered", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    await setDatabaseDown(true);
    try {
      expect((await deliverStripe(delivery)).status).toBeGreaterThanOrEqual(500);
    } finally {
      await setDatabaseDown(false);
    }
    expect(await orderStatus(orderId)).toBe("pending");
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });
});

describe("Stripe webhook: database calls per event", () => {
  // The isolate's first request starts the doctor in the background: let it finish before counting.
  beforeAll(serveFirstRequest);

  it("settles a new event in one database call and answers its redeliveries with none", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    expect(
      await rpcCallsDuring(async () => expect((await deliverStripe(delivery)).status).toBe(200)),
    ).toEqual({
      settle_event: 1,
    });
    expect(
      await rpcCallsDuring(async () => expect((await deliverStripe(delivery)).status).toBe(200)),
    ).toEqual({});
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("an event that finds an incident costs one more call, the outbox finish (the desk mirrors it itself)", async () => {
    const orderId = await createOrder(newUser());
    const { deliveries } = await paidDeliveries(orderId, { amountMinor: 999 });
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    expect(
      await rpcCallsDuring(async () => expect((await deliverStripe(delivery)).status).toBe(200)),
    ).toEqual({ settle_event: 1, finish_incident_outbox: 1, open_incident: 1 });
    expect(await orderStatus(orderId)).toBe("needs_review");
  });

  it("a redelivery that arrives while its original is in flight waits for it and costs no call", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    const delivery = deliveries[0];
    if (!delivery) throw new Error("no delivery");
    const calls = await rpcCallsDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => deliverStripe(delivery)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    });
    expect(calls).toEqual({ settle_event: 1 });
    expect((await ledgerOf(user)).balance).toBe(100);
  });
});

describe("Stripe webhook: refunds claw back once", () => {
  async function paidOrder() {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId);
    for (const delivery of deliveries) await deliverStripe(delivery);
    return { user, orderId };
  }

  it("claws back a partial refund once, even delivered twice and through both event families", async () => {
    const { user, orderId } = await paidOrder();
    const { deliveries } = await stripeScenario("refund", { orderId, amountMinor: 1000 });
    const types = deliveries.map((d) => (JSON.parse(d.body) as { type: string }).type).sort();
    expect(types).toEqual(expect.arrayContaining(["charge.refunded", "refund.created"]));
    for (const delivery of [...deliveries, ...deliveries])
      expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("partially_refunded");
    const ledger = await ledgerOf(user);
    expect(ledger.rows).toEqual([
      { kind: "purchase", credits: 100 },
      { kind: "clawback", credits: -50 },
    ]);
    expect(ledger.balance).toBe(50);
  });

  it("claws back the whole grant on a full refund, once", async () => {
    const { user, orderId } = await paidOrder();
    const { deliveries } = await stripeScenario("refund", { orderId, amountMinor: 1999 });
    await Promise.all([...deliveries, ...deliveries].map(deliverStripe));
    expect(await orderStatus(orderId)).toBe("refunded");
    expect(await ledgerOf(user)).toEqual({
      balance: 0,
      rows: [
        { kind: "purchase", credits: 100 },
        { kind: "clawback", credits: -100 },
      ],
    });
  });
});

describe("Stripe webhook: an event that needs a human is acknowledged once its incident is durable", () => {
  const OPEN_INCIDENT = "payguard.open_incident(text, text, text, text, jsonb, timestamptz)";
  const outboxOf = (key: string) =>
    sql<{ action: string }>("select action from payguard.incident_outbox where key = $1", [key]);

  it("answers 2xx with the incident in the outbox while the incident write fails; the cron drain stores it", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    const { deliveries } = await paidDeliveries(orderId, { amountMinor: 999 });
    const completed = deliveries[0] as (typeof deliveries)[number];
    const key = `needs_review:${orderId}`;
    await sql(`revoke execute on function ${OPEN_INCIDENT} from service_role`);
    try {
      // Written in the settlement's transaction: the provider may stop retrying, nothing is lost.
      expect((await deliverStripe(completed)).status).toBe(200);
      expect(await outboxOf(key)).toEqual([{ action: "raise" }]);
    } finally {
      await sql(`grant execute on function ${OPEN_INCIDENT} to service_role`);
    }
    expect((await deliverStripe(completed)).status).toBe(200);
    await runCron(CRON_RECONCILE, Date.now() + (OUTBOX_MIN_AGE_SECONDS + 5) * 1000);
    expect(await orderStatus(orderId)).toBe("needs_review");
    const incidents = await sql("select 1 from payguard.incidents where key = $1 and status = 'open'", [key]);
    expect(incidents).toHaveLength(1);
    expect(await outboxOf(key)).toEqual([]);
    expect((await ledgerOf(user)).balance).toBe(0);
  });
});

describe("Stripe webhook: which order a payment settles", () => {
  it("settles the order whose session payguard stored; a client_reference_id naming another order → review, no credit", async () => {
    const owner = newUser();
    const other = newUser();
    const orderId = await createOrder(owner);
    const otherOrderId = await createOrder(other);
    // The session names the other order (client_reference_id), but payguard stored it for `orderId`.
    const { deliveries } = await paidDeliveries(otherOrderId);
    const session = JSON.parse(deliveries[0]?.body ?? "{}") as { data: { object: { id: string } } };
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, session.data.object.id]);
    for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("needs_review");
    expect(await orderStatus(otherOrderId)).toBe("pending");
    expect((await ledgerOf(owner)).balance).toBe(0);
    expect((await ledgerOf(other)).balance).toBe(0);
  });
});

describe("Stripe webhook: a refund that fails after its clawback", () => {
  it("reverses the clawback once, keyed by the refund id", async () => {
    const user = newUser();
    const orderId = await createOrder(user);
    for (const delivery of (await paidDeliveries(orderId)).deliveries) await deliverStripe(delivery);
    const refunded = await stripeScenario("refund", { orderId, amountMinor: 1999 });
    for (const delivery of refunded.deliveries) await deliverStripe(delivery);
    expect((await ledgerOf(user)).balance).toBe(0);
    const refund = JSON.parse(
      refunded.deliveries.find((d) => d.body.includes('"refund.created"'))?.body ?? "{}",
    ) as {
      data: { object: Record<string, unknown> };
    };
    const failedRefund = { ...refund.data.object, status: "failed" };
    for (const type of ["refund.failed", "refund.updated", "refund.failed"]) {
      const response = await postSignedStripe({
        id: `evt_failed_${crypto.randomUUID()}`,
        object: "event",
        type,
        created: Math.floor(Date.now() / 1000),
        data: { object: failedRefund },
      });
      expect(response.status).toBe(200);
    }
    expect(await orderStatus(orderId)).toBe("fulfilled");
    const ledger = await ledgerOf(user);
    expect(ledger.balance).toBe(100);
    expect(ledger.rows.map((r) => r.kind)).toEqual(["purchase", "clawback", "adjustment"]);
  });
});
