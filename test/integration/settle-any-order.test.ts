/**
 * The settlement rule through the whole worker: signed Stripe and WeChat Pay messages from the sandbox,
 * delivered over HTTP in a fixed sample of permutations (refund before payment included, duplicates
 * too), end in the same order status, credits, refund set and open incidents as the natural order.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Delivery, seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder, deliverStripe, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";
import { createWechatOrder, deliverWechat, wechatScenario } from "../support/worker/wechat.ts";

beforeAll(seedPackage);

/** Fixed, so the sample is the same on every run. */
const PERMUTATION_SEED = 9_2026;
const RANDOM_PERMUTATIONS = 4;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Named orders of delivery indexes for n deliveries: natural, reversed (refunds first), doubled, random. */
function permutations(n: number): Array<[string, number[]]> {
  const natural = Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(PERMUTATION_SEED);
  const sample: Array<[string, number[]]> = [
    ["reversed: every refund before its payment", [...natural].reverse()],
    ["each delivered twice, reversed then natural", [...[...natural].reverse(), ...natural]],
  ];
  for (let k = 0; k < RANDOM_PERMUTATIONS; k++) {
    const order = [...natural, ...natural.filter(() => random() < 0.4)];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    sample.push([`seeded shuffle ${k} (seed ${PERMUTATION_SEED})`, order]);
  }
  return sample;
}

async function finalState(orderId: string, user: string) {
  const [order] = await sql<{ status: string }>("select status from payguard.payment_orders where id = $1", [
    orderId,
  ]);
  const refunds = await sql<{ amount: number; status: string }>(
    "select amount_minor::int as amount, status from payguard.payment_refunds where order_id = $1 order by 1, 2",
    [orderId],
  );
  const incidents = await sql<{ kind: string }>(
    "select kind from payguard.incidents where status = 'open' and key like '%' || $1 order by kind",
    [orderId],
  );
  return { status: order?.status, credits: (await ledgerOf(user)).balance, refunds, incidents };
}

const refundIdOf = (delivery: Delivery | undefined): string =>
  (JSON.parse(delivery?.body ?? "{}") as { data: { object: { id: string } } }).data.object.id;

/** One Stripe order's facts: payment, two partial refunds, and a refund that ends failed. */
async function stripeFacts(): Promise<{ user: string; orderId: string; deliveries: Delivery[] }> {
  const user = crypto.randomUUID();
  const orderId = await createOrder(user);
  const paid = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
  const first = await stripeScenario("refund", { orderId, amountMinor: 500 });
  const second = await stripeScenario("refund", { orderId, amountMinor: 700 });
  const pending = await stripeScenario("refund", { orderId, amountMinor: 300, status: "pending" });
  const refundId = refundIdOf(pending.deliveries.find((d) => d.body.includes('"refund.created"')));
  const failed = await stripeScenario("refund/finish", { refundId, status: "failed" });
  const deliveries = [paid, first, second, pending, failed].flatMap((answer) => answer.deliveries);
  return { user, orderId, deliveries };
}

/** One WeChat Pay order's facts: payment and two partial refunds. */
async function wechatFacts(): Promise<{ user: string; orderId: string; deliveries: Delivery[] }> {
  const user = crypto.randomUUID();
  const orderId = await createWechatOrder(user);
  const answers = [
    await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990 }),
    await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 495 }),
    await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 100 }),
  ];
  return { user, orderId, deliveries: answers.flatMap((answer) => answer.deliveries) };
}

const PROVIDERS = [
  { name: "Stripe", facts: stripeFacts, send: deliverStripe, ok: [200] },
  { name: "WeChat Pay", facts: wechatFacts, send: deliverWechat, ok: [204] },
] as const;

describe.each(PROVIDERS)("$name: final state depends only on the set of facts", (provider) => {
  let expected: Awaited<ReturnType<typeof finalState>>;
  let deliveryCount = 0;

  beforeAll(async () => {
    const natural = await provider.facts();
    deliveryCount = natural.deliveries.length;
    for (const delivery of natural.deliveries)
      expect(provider.ok).toContain((await provider.send(delivery)).status);
    expected = await finalState(natural.orderId, natural.user);
    expect(expected.status).toBe("partially_refunded");
    expect(expected.refunds.filter((r) => r.status === "succeeded")).toHaveLength(2);
    expect(expected.credits).toBeGreaterThan(0);
  });

  it.each(permutations(6))("%s", async (_name, order) => {
    const run = await provider.facts();
    expect(run.deliveries).toHaveLength(deliveryCount);
    for (const index of order.filter((i) => i < run.deliveries.length)) {
      const response = await provider.send(run.deliveries[index] as Delivery);
      expect(provider.ok).toContain(response.status);
    }
    expect(await finalState(run.orderId, run.user)).toEqual(expected);
  });
});
