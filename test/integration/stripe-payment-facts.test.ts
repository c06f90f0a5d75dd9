// Issue 22, the Stripe side: what a Checkout Session or a dispute means reaches the ledger the same way on
// every path. Payments are dated by Stripe's own time (the success page and reconcile included), a 100 %
// promotion code fulfils, an async payment in flight keeps its order, and chargebacks claw back.
import { beforeAll, describe, expect, it } from "vitest";
import { ASYNC_PAYMENT_WAIT_MS } from "../../src/providers/stripe/normalise.ts";
import { userHeaders } from "../support/worker/auth.ts";
import { call, type Delivery, incidentRowsFrom, seedPackage, sql } from "../support/worker/harness.ts";
import {
  type ControlAnswer,
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

beforeAll(seedPackage);

/** Stripe's `created` is in whole seconds: waiting past the next one makes two moments distinct. */
const NEXT_SECOND_WAIT_MS = 1_100;
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, NEXT_SECOND_WAIT_MS));

type Paid = ControlAnswer & { sessionId: string; paymentIntentId: string };

/** The customer pays in the sandbox; the webhook is handed back, never sent (dropped unless delivered). */
async function pay(orderId: string, userId: string, extra: Record<string, unknown> = {}): Promise<Paid> {
  const metadata = { user_id: userId, package_id: "credits_100" };
  const answer = await stripeScenario("pay", {
    orderId,
    amountMinor: 1999,
    currency: "usd",
    metadata,
    ...extra,
  });
  return answer as Paid;
}

const eventOf = (delivery: Delivery) => JSON.parse(delivery.body) as { type: string; created: number };

async function deliverAll(deliveries: Delivery[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const delivery of deliveries) statuses.push((await deliverStripe(delivery)).status);
  return statuses;
}

async function getOrder(orderId: string, userId: string, query = "") {
  const response = await call(`/api/orders/${orderId}${query}`, { headers: await userHeaders(userId) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function orderRow(orderId: string) {
  const [row] = await sql<{
    status: string;
    payment_ref: string | null;
    paid_at_s: number | null;
    expires_at_ms: number;
    discount_minor: number;
  }>(
    `select status, payment_ref, extract(epoch from paid_at)::int as paid_at_s,
            (extract(epoch from expires_at) * 1000)::bigint as expires_at_ms, discount_minor::int as discount_minor
       from payguard.payment_orders where id = $1`,
    [orderId],
  );
  return row;
}

const paymentRoles = (orderId: string) =>
  sql<{ payment_ref: string; role: string }>(
    "select payment_ref, role from payguard.order_payments where order_id = $1 order by role",
    [orderId],
  );

describe("paid_at is Stripe's payment time on every path", () => {
  it("keeps the earlier of two payments when the success page sees it after the later one was made", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const first = await pay(orderId, user);
    await nextSecond();
    const second = await pay(orderId, user);
    await nextSecond();
    // The customer comes back to the success page of the first payment only now; then the second's webhook.
    const page = await getOrder(orderId, user, `?session_id=${first.sessionId}`);
    expect(page).toMatchObject({ status: 200, body: { status: "fulfilled", credits: 100 } });
    expect(await deliverAll(second.deliveries)).toEqual([200]);
    const firstPaidAtS = eventOf(first.deliveries[0] as Delivery).created;
    expect(await orderRow(orderId)).toMatchObject({
      payment_ref: first.paymentIntentId,
      paid_at_s: firstPaidAtS,
    });
    expect(await paymentRoles(orderId)).toEqual([
      { payment_ref: first.paymentIntentId, role: "primary" },
      { payment_ref: second.paymentIntentId, role: "second" },
    ]);
    expect((await ledgerOf(user)).rows).toEqual([{ kind: "purchase", credits: 100 }]);
  });

  it("dates a payment found through the order's stored session (reconcile's query) by the PaymentIntent", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await pay(orderId, user);
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, paid.sessionId]);
    await nextSecond();
    expect((await getOrder(orderId, user)).body).toMatchObject({ status: "fulfilled" });
    const paidAtS = eventOf(paid.deliveries[0] as Delivery).created;
    expect(await orderRow(orderId)).toMatchObject({ payment_ref: paid.paymentIntentId, paid_at_s: paidAtS });
  });
});

describe("a checkout completed under a 100 % promotion code (no_payment_required)", () => {
  it("fulfils the order with its credits from the webhook, the whole price recorded as discount", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await pay(orderId, user, { discountMinor: 1999 });
    expect(paid.paymentIntentId).toBe("");
    expect(await deliverAll(paid.deliveries)).toEqual([200]);
    expect(await orderRow(orderId)).toMatchObject({
      status: "fulfilled",
      payment_ref: paid.sessionId,
      discount_minor: 1999,
    });
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("fulfils it from the success page when the webhook was dropped", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await pay(orderId, user, { discountMinor: 1999 });
    const page = await getOrder(orderId, user, `?session_id=${paid.sessionId}`);
    expect(page.body).toMatchObject({ status: "fulfilled", credits: 100 });
    expect((await ledgerOf(user)).balance).toBe(100);
  });
});

describe("an async payment in flight keeps its order", () => {
  it("holds the order until Stripe's bound from completed (unpaid), then credits the async success once", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const completed = await pay(orderId, user, { async: "pending" });
    expect(await deliverAll(completed.deliveries)).toEqual([200]);
    const completedAtS = eventOf(completed.deliveries[0] as Delivery).created;
    expect(await orderRow(orderId)).toMatchObject({
      status: "pending",
      expires_at_ms: completedAtS * 1000 + ASYNC_PAYMENT_WAIT_MS,
    });
    const kinds = await sql<{ kind: string }>("select kind from payguard.order_events where order_id = $1", [
      orderId,
    ]);
    expect(kinds.map((row) => row.kind)).toContain("awaiting_payment");
    const succeeded = await stripeScenario("pay/finish", { orderId, status: "succeeded" });
    expect(await deliverAll(succeeded.deliveries)).toEqual([200]);
    expect(await deliverAll([...completed.deliveries, ...succeeded.deliveries])).toEqual([200, 200]);
    expect(await orderRow(orderId)).toMatchObject({
      status: "fulfilled",
      payment_ref: completed.paymentIntentId,
    });
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });

  it("fails the order when the async payment fails, and credits nothing", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const completed = await pay(orderId, user, { async: "pending" });
    const failed = await stripeScenario("pay/finish", { orderId, status: "failed" });
    expect(await deliverAll([...completed.deliveries, ...failed.deliveries])).toEqual([200, 200]);
    expect(await orderStatus(orderId)).toBe("failed");
    expect((await ledgerOf(user)).rows).toEqual([]);
  });

  it("holds the order when only the success page saw the completed, unpaid session", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const completed = await pay(orderId, user, { async: "pending" });
    expect((await getOrder(orderId, user, `?session_id=${completed.sessionId}`)).body).toMatchObject({
      status: "pending",
    });
    const completedAtS = eventOf(completed.deliveries[0] as Delivery).created;
    expect((await orderRow(orderId))?.expires_at_ms).toBe(completedAtS * 1000 + ASYNC_PAYMENT_WAIT_MS);
  });
});

describe("disputes (DISPUTE_POLICY claw_back, the default)", () => {
  async function paidOrder() {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await pay(orderId, user);
    expect(await deliverAll(paid.deliveries)).toEqual([200]);
    return { user, orderId };
  }

  const openDispute = async (orderId: string) =>
    (await stripeScenario("dispute", { orderId })) as ControlAnswer & { disputeId: string };
  const decide = (disputeId: string, step: "won" | "lost") =>
    stripeScenario("dispute/move", { disputeId, step });

  it("claws the credits back when a dispute opens, even redelivered, and raises a critical incident", async () => {
    const { user, orderId } = await paidOrder();
    const incidents = await incidentRowsFrom(`dispute:${orderId}`);
    const opened = await openDispute(orderId);
    expect(opened.deliveries.map((d) => eventOf(d).type)).toEqual([
      "charge.dispute.created",
      "charge.dispute.funds_withdrawn",
    ]);
    expect(await deliverAll([...opened.deliveries, ...opened.deliveries])).toEqual([200, 200, 200, 200]);
    expect(await ledgerOf(user)).toEqual({
      balance: 0,
      rows: [
        { kind: "purchase", credits: 100 },
        { kind: "dispute", credits: -100 },
      ],
    });
    expect(await incidents()).toContain("open");
  });

  it("gives the credits back once when the dispute is won (closed won, then funds reinstated)", async () => {
    const { user, orderId } = await paidOrder();
    const opened = await openDispute(orderId);
    const won = await decide(opened.disputeId, "won");
    expect(won.deliveries.map((d) => eventOf(d).type)).toEqual([
      "charge.dispute.closed",
      "charge.dispute.funds_reinstated",
    ]);
    const all = [...opened.deliveries, ...won.deliveries];
    expect(await deliverAll([...all, ...all])).toEqual(Array(8).fill(200));
    expect(await ledgerOf(user)).toEqual({
      balance: 100,
      rows: [
        { kind: "purchase", credits: 100 },
        { kind: "dispute", credits: -100 },
        { kind: "adjustment", credits: 100 },
      ],
    });
  });

  it("keeps the credits taken when the dispute is lost", async () => {
    const { user, orderId } = await paidOrder();
    const opened = await openDispute(orderId);
    const lost = await decide(opened.disputeId, "lost");
    expect(await deliverAll([...opened.deliveries, ...lost.deliveries])).toEqual([200, 200, 200]);
    expect(await ledgerOf(user)).toMatchObject({ balance: 0 });
    expect((await ledgerOf(user)).rows.map((row) => row.kind)).toEqual(["purchase", "dispute"]);
  });

  it("ends the same when the dispute's events arrive before the payment's", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const paid = await pay(orderId, user);
    const opened = await openDispute(orderId);
    const won = await decide(opened.disputeId, "won");
    expect(await deliverAll([...won.deliveries, ...opened.deliveries, ...paid.deliveries])).toEqual(
      Array(5).fill(200),
    );
    expect(await ledgerOf(user)).toMatchObject({ balance: 100 });
    const disputes = await sql<{ state: string }>(
      "select state from payguard.payment_disputes where order_id = $1 and dispute_ref = $2",
      [orderId, opened.disputeId],
    );
    expect(disputes).toEqual([{ state: "won" }]);
  });
});
