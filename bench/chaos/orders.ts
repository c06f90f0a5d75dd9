/**
 * One simulated order, as its plan says: created as payguard's checkout would, then paid, paid with the
 * success page opened, abandoned, paid then refunded once credited, or mis-charged. Every step the sandbox
 * answered goes into the order's trace (./trace.ts), so a violation can be explained afterwards.
 */
import { createHash } from "node:crypto";
import type { BenchStack } from "../lib/stack.ts";
import type { Acknowledged } from "./checks.ts";
import type { OrderPlan } from "./plan.ts";
import type { Trace } from "./trace.ts";

/** Abandoned orders expire this soon, so "nothing pending past expiry" is checked within the run. */
export const ABANDON_EXPIRY_S = 5;
const PAID_ORDER_EXPIRY_S = 1800;
const CREDIT_WAIT_MS = 20_000;
const POLL_MS = 200;
const PACKAGES = {
  stripe: { id: "chaos_usd", amountMinor: 1999, currency: "usd" },
  wechatpay: { id: "chaos_cny", amountMinor: 9900, currency: "CNY" },
} as const;

export interface Tracked {
  plan: OrderPlan;
  orderId: string;
  userId: string;
  paidAtMs: number | null;
  refunded: boolean;
  expiresAtMs: number;
}

/** A user id derived from the seed, so the same seed gives the same users. */
const userIdFor = (seed: number, index: number): string => {
  const hex = createHash("sha256").update(`chaos:${seed}:${index}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function orderStatus(stack: BenchStack, orderId: string): Promise<string | undefined> {
  const [row] = await stack.standIn.query<{ status: string }>(
    "select status from payguard.payment_orders where id = $1",
    [orderId],
  );
  return row?.status;
}

async function waitForCredit(stack: BenchStack, orderId: string): Promise<boolean> {
  const deadline = Date.now() + CREDIT_WAIT_MS;
  while (Date.now() < deadline) {
    if ((await orderStatus(stack, orderId)) === "fulfilled") return true;
    await sleep(POLL_MS);
  }
  return false;
}

/** Checkout as payguard does it: an open Checkout Session whose id is stored on the order. */
async function openSession(
  stack: BenchStack,
  orderId: string,
  amountMinor: number,
  trace: Trace,
): Promise<string> {
  const { sessionId } = await stack.control<{ sessionId: string }>("stripe/abandon", {
    orderId,
    amountMinor,
  });
  await stack.standIn.query("select payguard.set_provider_ref($1, $2, now())", [orderId, sessionId]);
  trace.step(orderId, "session opened", { sessionId, amountMinor });
  return sessionId;
}

/** A control step whose answer (ids, event ids; never the signed deliveries) goes into the order's trace. */
async function traced(
  stack: BenchStack,
  trace: Trace,
  orderId: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const startedMs = Date.now();
  const { deliveries: _deliveries, ...answer } = await stack.control<Record<string, unknown>>(path, body);
  const asked = body.amountMinor === undefined ? {} : { amountMinor: body.amountMinor };
  trace.step(orderId, path, { ...answer, ...asked, tookMs: Date.now() - startedMs }, startedMs);
  return answer;
}

async function pay(
  stack: BenchStack,
  order: Tracked,
  amountMinor: number,
  trace: Trace,
  sessionId?: string,
): Promise<void> {
  const pkg = PACKAGES[order.plan.provider];
  const path = order.plan.provider === "stripe" ? "stripe/pay" : "wechat/pay";
  order.paidAtMs = Date.now();
  await traced(stack, trace, order.orderId, path, {
    orderId: order.orderId,
    sessionId,
    amountMinor,
    currency: pkg.currency,
  });
}

async function createTracked(
  stack: BenchStack,
  seed: number,
  plan: OrderPlan,
  trace: Trace,
): Promise<Tracked> {
  const userId = userIdFor(seed, plan.userIndex);
  const [created] = await stack.standIn.query<{ id: string }>(
    "select payguard.create_order($1::uuid, $2, $3, now(), null, $4)->>'id' as id",
    [userId, PACKAGES[plan.provider].id, plan.provider, PAID_ORDER_EXPIRY_S],
  );
  // An abandoned order runs out within seconds rather than the shortest expiry a checkout may ask for,
  // so the run sees it expire without waiting: the owner moves its expiry, as time passing would.
  const expiresS = plan.fate === "abandon" ? ABANDON_EXPIRY_S : PAID_ORDER_EXPIRY_S;
  const [row] = await stack.standIn.query<{ id: string; expires_at: string }>(
    `update payguard.payment_orders set expires_at = now() + make_interval(secs => $2) where id = $1
     returning id, expires_at`,
    [created?.id, expiresS],
  );
  trace.step(row?.id as string, "order created", {
    provider: plan.provider,
    fate: plan.fate,
    userId,
    expiresAt: row?.expires_at,
  });
  return {
    plan,
    orderId: row?.id as string,
    userId,
    paidAtMs: null,
    refunded: false,
    expiresAtMs: Date.parse(row?.expires_at as string),
  };
}

async function openSuccessPage(stack: BenchStack, order: Tracked, counters: Counters): Promise<void> {
  await sleep(order.plan.confirmDelayMs);
  const startedMs = Date.now();
  // The success page asks as the signed-in customer (a token minted by the stand-in's Auth keys).
  const token = await stack.standIn.userToken(order.userId);
  const answer = await fetch(`${stack.workerUrl}/api/orders/${order.orderId}`, {
    headers: { authorization: `Bearer ${token}` },
  }).catch(() => null);
  await answer?.arrayBuffer();
  const key = String(answer?.status ?? "network");
  counters.confirms[key] = (counters.confirms[key] ?? 0) + 1;
  counters.trace.step(
    order.orderId,
    "success page opened",
    { status: key, tookMs: Date.now() - startedMs },
    startedMs,
  );
}

interface RefundDelivery {
  eventId: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const REFUND_DELIVERY_ATTEMPTS_MAX = 20;
const REFUND_DELIVERY_RETRY_MS = 250;

async function deliverUntilAnswered(
  stack: BenchStack,
  delivery: RefundDelivery,
  orderId: string,
  counters: Counters,
): Promise<void> {
  for (let attempt = 1; attempt <= REFUND_DELIVERY_ATTEMPTS_MAX; attempt += 1) {
    const startedMs = Date.now();
    const answer = await fetch(`${stack.workerUrl}/webhooks/wechatpay`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    }).catch(() => null);
    await answer?.arrayBuffer();
    const status = answer?.status ?? "network";
    counters.trace.step(
      orderId,
      "refund notification delivered by the run",
      { eventId: delivery.eventId, attempt, status, tookMs: Date.now() - startedMs },
      startedMs,
    );
    if (answer?.ok) {
      counters.acknowledged.push({
        provider: "wechatpay",
        eventId: delivery.eventId,
        orderId,
        acknowledgedAtMs: Date.now(),
      });
      return;
    }
    await sleep(REFUND_DELIVERY_RETRY_MS);
  }
}

async function refundOnceCredited(stack: BenchStack, order: Tracked, counters: Counters): Promise<void> {
  if (!(await waitForCredit(stack, order.orderId))) {
    counters.refundsSkipped += 1;
    counters.trace.step(order.orderId, "refund skipped: not fulfilled in time", { waitedMs: CREDIT_WAIT_MS });
    return;
  }
  const amountMinor = PACKAGES[order.plan.provider].amountMinor;
  if (order.plan.provider === "stripe") {
    await traced(stack, counters.trace, order.orderId, "stripe/refund", {
      orderId: order.orderId,
      amountMinor,
    });
  } else {
    // A lost WeChat refund notification is recovered only by the next day's trade bill (as an incident
    // for an operator), which a run of seconds never reaches: its delivery bypasses the fault mix, retried
    // until answered as WeChat retries for 24 h. (Stripe refunds are recovered by the events backfill.)
    const { deliveries, ...answer } = await stack.control<{ deliveries: RefundDelivery[] }>("wechat/refund", {
      orderId: order.orderId,
      amountMinor,
      deliver: false,
    });
    counters.trace.step(order.orderId, "wechat/refund", { ...answer, amountMinor });
    for (const delivery of deliveries) await deliverUntilAnswered(stack, delivery, order.orderId, counters);
  }
  order.refunded = true;
}

export async function runOrder(
  stack: BenchStack,
  seed: number,
  plan: OrderPlan,
  counters: Counters,
): Promise<Tracked> {
  const { trace } = counters;
  const order = await createTracked(stack, seed, plan, trace);
  const pkg = PACKAGES[plan.provider];
  // A mismatch: the customer is charged another amount than the order's (e.g. a price changed meanwhile).
  const amountMinor = plan.fate === "mismatch" ? pkg.amountMinor + 1 : pkg.amountMinor;
  const sessionId =
    plan.provider === "stripe" ? await openSession(stack, order.orderId, amountMinor, trace) : undefined;
  if (plan.fate === "abandon") {
    // What Stripe does when the session's time runs out, without waiting for it. A WeChat customer who
    // leaves before paying leaves nothing at WeChat (the sandbox has no prepay order yet), so only the
    // reconcile cron's query can expire that order.
    if (plan.provider === "stripe")
      await traced(stack, trace, order.orderId, "stripe/expire", { orderId: order.orderId });
    return order;
  }
  await pay(stack, order, amountMinor, trace, sessionId);
  if (plan.fate === "pay_confirm") await openSuccessPage(stack, order, counters);
  if (plan.fate === "refund") await refundOnceCredited(stack, order, counters);
  return order;
}

export interface Counters {
  cronRuns: Record<string, number>;
  confirms: Record<string, number>;
  refundsSkipped: number;
  finalTicks: number;
  /** Each order's steps, for explaining a violation. */
  trace: Trace;
  /** Deliveries the run made itself (outside the sandbox's queue) that were answered 2xx. */
  acknowledged: Acknowledged[];
}
