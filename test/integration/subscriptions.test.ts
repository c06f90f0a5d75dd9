/**
 * Subscription credits end to end in workerd against the stand-in and the sandbox: subscribing through
 * `POST /api/checkout` with a plan, every paid invoice's signed `invoice.paid` granting once (20 concurrent
 * copies of one delivery included), a renewal's events before the creation's, a prorated plan change, a
 * refund and a dispute of an invoice's payment, a plan whose price disagrees with Stripe's (review), and
 * the catalogue listing plans apart from packages.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { userHeaders } from "../support/worker/auth.ts";
import { call, type Delivery, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { deliverStripe, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";
import {
  billedAtSandbox,
  renewAtSandbox,
  seedPlan,
  subscribeAtSandbox,
} from "../support/worker/subscriptions.ts";

const newUser = () => crypto.randomUUID();
const typeOf = (delivery: Delivery) => (JSON.parse(delivery.body) as { type: string }).type;
const ofType = (deliveries: Delivery[], type: string) => deliveries.filter((d) => typeOf(d) === type);

async function deliverAll(deliveries: Delivery[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const delivery of deliveries) statuses.push((await deliverStripe(delivery)).status);
  return statuses;
}

const invoicesOf = (subscriptionId: string) =>
  sql<{ invoice_ref: string; billing_reason: string; credits: number; order_id: string | null }>(
    `select invoice_ref, billing_reason, credits, order_id from payguard.subscription_invoices
      where subscription_id = $1 order by period_start, invoice_ref`,
    [subscriptionId],
  );

const subscriptionRow = async (subscriptionId: string) =>
  (
    await sql<{ user_id: string; package_id: string; status: string }>(
      "select user_id, package_id, status from payguard.subscriptions where id = $1",
      [subscriptionId],
    )
  )[0];

let plan: Awaited<ReturnType<typeof seedPlan>>;
let pro: Awaited<ReturnType<typeof seedPlan>>;

beforeAll(async () => {
  await seedPackage();
  plan = await billedAtSandbox(await seedPlan("sub_basic", { amountMinor: 1000, credits: 100 }));
  pro = await billedAtSandbox(await seedPlan("sub_pro", { amountMinor: 3000, credits: 500 }));
});

describe("subscribe and grant per paid invoice", () => {
  it("POST /api/checkout with a plan opens a subscription session whose metadata payguard wrote", async () => {
    const user = newUser();
    const response = await call("/api/checkout", {
      method: "POST",
      headers: { ...(await userHeaders(user)), "content-type": "application/json" },
      body: JSON.stringify({ planId: plan.id, provider: "stripe" }),
    });
    expect(response.status).toBe(201);
    const { sessionId, url } = (await response.json()) as { sessionId: string; url: string };
    expect(url).toMatch(/^http/);
    const paid = await stripeScenario("pay", { orderId: "unused", sessionId });
    const subscriptionId = (paid as unknown as { subscriptionId: string }).subscriptionId;
    expect(await deliverAll(paid.deliveries)).toEqual(paid.deliveries.map(() => 200));
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ user_id: user, package_id: plan.id });
    // What the app's success page polls: the user's own subscriptions and their grants, nobody else's.
    const mine = await call("/api/subscriptions", { headers: await userHeaders(user) });
    expect(await mine.json()).toMatchObject({
      subscriptions: [
        {
          id: subscriptionId,
          planId: plan.id,
          status: "active",
          invoices: [
            { billingReason: "subscription_create", credits: 100, granted: 100, status: "fulfilled" },
          ],
        },
      ],
    });
    const theirs = await call("/api/subscriptions", { headers: await userHeaders(newUser()) });
    expect(await theirs.json()).toEqual({ subscriptions: [] });
    expect((await call("/api/subscriptions")).status).toBe(401);
    // Subscribed now: a second subscription to the same plan is refused before Stripe is asked.
    const again = await call("/api/checkout", {
      method: "POST",
      headers: { ...(await userHeaders(user)), "content-type": "application/json" },
      body: JSON.stringify({ planId: plan.id, provider: "stripe" }),
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: "already_subscribed" });
  });

  it("refuses an unknown plan, a plan bought as a one-off package, and a client-supplied user", async () => {
    const headers = { ...(await userHeaders(newUser())), "content-type": "application/json" };
    const post = (body: unknown) =>
      call("/api/checkout", { method: "POST", headers, body: JSON.stringify(body) });
    expect((await post({ planId: "no_such_plan", provider: "stripe" })).status).toBe(404);
    expect((await post({ packageId: plan.id, provider: "stripe" })).status).toBe(404);
    const injected = await post({ planId: plan.id, provider: "stripe", userId: newUser() });
    expect(injected.status).toBe(400);
    expect(await injected.json()).toMatchObject({ error: "bad_request" });
  });

  it("grants each renewal once; 20 concurrent copies of one invoice.paid grant once", async () => {
    const user = newUser();
    const subscribed = await subscribeAtSandbox(user, plan);
    await deliverAll(subscribed.deliveries);
    const renewal = await renewAtSandbox(subscribed.subscriptionId);
    const [paid] = ofType(renewal.deliveries, "invoice.paid");
    if (!paid) throw new Error("the renewal emitted no invoice.paid");
    const statuses = await Promise.all(Array.from({ length: 20 }, () => deliverStripe(paid)));
    expect(statuses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await ledgerOf(user)).toMatchObject({ balance: 200 });
    expect((await invoicesOf(subscribed.subscriptionId)).map((i) => [i.billing_reason, i.credits])).toEqual([
      ["subscription_create", 100],
      ["subscription_cycle", 100],
    ]);
  });

  it("a renewal's events before the creation's grant both, and the subscription belongs to its user", async () => {
    const user = newUser();
    const subscribed = await subscribeAtSandbox(user, plan);
    const renewal = await renewAtSandbox(subscribed.subscriptionId);
    await deliverAll([...renewal.deliveries].reverse());
    await deliverAll([...subscribed.deliveries].reverse());
    expect(await ledgerOf(user)).toMatchObject({ balance: 200 });
    expect(await subscriptionRow(subscribed.subscriptionId)).toMatchObject({
      user_id: user,
      status: "active",
    });
  });

  it("a prorated upgrade grants credits in proportion to the money for the rest of the period", async () => {
    const user = newUser();
    const subscribed = await subscribeAtSandbox(user, plan);
    await deliverAll(subscribed.deliveries);
    const subscription = await stripeGet<{ items: { data: Array<{ id: string }> } }>(
      `/v1/subscriptions/${subscribed.subscriptionId}`,
    );
    const item = subscription.items.data[0]?.id ?? "";
    const updated = await stripePost(`/v1/subscriptions/${subscribed.subscriptionId}`, {
      "items[0][id]": item,
      "items[0][price]": pro.priceRef,
      proration_behavior: "always_invoice",
    });
    expect(updated.status).toBe(200);
    const invoices = await stripeGet<{
      data: Array<{ id: string; billing_reason: string; lines: { data: Array<{ amount: number }> } }>;
    }>(`/v1/invoices?subscription=${subscribed.subscriptionId}&limit=1`);
    const update = invoices.data[0];
    expect(update?.billing_reason).toBe("subscription_update");
    // A plain API call hands no delivery back: sign its events as Stripe would send them.
    for (const [type, objectId] of [
      ["invoice.paid", update?.id],
      ["customer.subscription.updated", subscribed.subscriptionId],
    ]) {
      const events = await stripeGet<{ data: Array<{ id: string; data: { object: { id: string } } }> }>(
        `/v1/events?type=${type}&limit=100`,
      );
      const event = events.data.find((e) => e.data.object.id === objectId);
      const { delivery } = await sandbox<{ delivery: Delivery }>("stripe/sign", { eventId: event?.id });
      expect((await deliverStripe(delivery)).status).toBe(200);
    }
    const [credit, debit] = (update?.lines.data ?? []).map((line) => line.amount);
    const expected = Math.floor(100 * ((credit ?? 0) / 1000) + 500 * ((debit ?? 0) / 3000));
    expect(expected).toBeGreaterThan(0);
    expect(await ledgerOf(user)).toMatchObject({ balance: 100 + expected });
    expect(await subscriptionRow(subscribed.subscriptionId)).toMatchObject({ package_id: pro.id });
  });
});

describe("refunds, disputes and mismatches of invoices", () => {
  it("a refund of a renewal's payment claws back by the refund rules; a dispute by the dispute policy", async () => {
    const user = newUser();
    const subscribed = await subscribeAtSandbox(user, plan);
    await deliverAll(subscribed.deliveries);
    const renewal = await renewAtSandbox(subscribed.subscriptionId);
    await deliverAll(renewal.deliveries);
    const refunded = await stripeScenario("refund", { invoiceId: renewal.invoiceId, amountMinor: 500 });
    await deliverAll(refunded.deliveries);
    expect(await ledgerOf(user)).toMatchObject({ balance: 150 });
    const disputed = await stripeScenario("dispute", { invoiceId: subscribed.invoiceId });
    await deliverAll(disputed.deliveries);
    expect(await ledgerOf(user)).toMatchObject({ balance: 50 });
    const [first] = await invoicesOf(subscribed.subscriptionId);
    expect(first?.order_id).toBe(subscribed.invoiceId);
  });

  it("an invoice whose price the plan says otherwise is held for review, nothing granted", async () => {
    const user = newUser();
    // The plan says 20.00; Stripe's price bills 10.00.
    const wrong = await seedPlan("sub_wrong_price", { amountMinor: 2000, credits: 100 });
    await billedAtSandbox({ ...wrong, amountMinor: 1000 });
    const subscribed = await subscribeAtSandbox(user, wrong);
    await deliverAll(subscribed.deliveries);
    const [order] = await sql<{ status: string; review_reason: string }>(
      "select status, review_reason from payguard.payment_orders where id = $1",
      [subscribed.invoiceId],
    );
    expect(order?.status).toBe("needs_review");
    expect(await ledgerOf(user)).toEqual({ balance: 0, rows: [] });
  });
});

describe("the catalogue", () => {
  it("lists plans apart from one-off packages", async () => {
    const response = await call("/api/packages");
    const body = (await response.json()) as { packages: Array<{ id: string }>; plans: Array<{ id: string }> };
    expect(body.plans.map((p) => p.id)).toEqual(expect.arrayContaining([plan.id, pro.id]));
    expect(body.packages.map((p) => p.id)).not.toContain(plan.id);
  });
});

async function stripeGet<T>(path: string): Promise<T> {
  const response = await stripeFetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const stripePost = (path: string, form: Record<string, string>) =>
  stripeFetch(path, { method: "POST", body: new URLSearchParams(form).toString() });

async function stripeFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const { env } = await import("cloudflare:workers");
  const { inject } = await import("vitest");
  return fetch(`${inject("sandboxUrl")}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
  });
}
