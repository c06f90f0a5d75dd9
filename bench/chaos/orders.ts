/**
 * One simulated order, as its plan says: created as payguard's checkout would, then paid, paid with the
 * success page opened, abandoned, paid then (once credited) refunded once or twice, refunded with the
 * refund failing later, or disputed and decided; paid by an async method, free, or mis-charged. Every
 * step the sandbox answered goes into the order's trace (./trace.ts), so a violation can be explained
 * afterwards.
 */
import { createHash } from "node:crypto";
import type { BenchStack } from "../lib/stack.ts";
import type { Fate, OrderPlan } from "./plan.ts";
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
  /** Each refund the run made, with the events the provider emitted for it. */
  refundEvents: Array<{ refundId: string; eventIds: string[] }>;
  expiresAtMs: number;
}

/** A user id derived from the seed, so the same seed gives the same users (`index` a number, or a subscriber's name). */
export const userIdFor = (seed: number, index: number | string): string => {
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

export async function waitForCredit(stack: BenchStack, orderId: string): Promise<boolean> {
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
    refundEvents: [],
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

/** A control step the sandbox refused (409: nothing left to refund, no open dispute) is noted, not thrown. */
async function tryTraced(
  stack: BenchStack,
  trace: Trace,
  orderId: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown> | null> {
  try {
    return await traced(stack, trace, orderId, path, body);
  } catch (error) {
    trace.step(orderId, `${path} refused`, { error: (error as Error).message });
    return null;
  }
}

/** Refunds `amountMinor` of the order; WeChat's notification goes through the delivery faults like any other. */
async function refund(
  stack: BenchStack,
  order: Tracked,
  amountMinor: number,
  trace: Trace,
): Promise<string | null> {
  const path = order.plan.provider === "stripe" ? "stripe/refund" : "wechat/refund";
  const answer = await tryTraced(stack, trace, order.orderId, path, { orderId: order.orderId, amountMinor });
  if (!answer) return null;
  order.refunded = true;
  const refundId = String(answer.refundId);
  order.refundEvents.push({ refundId, eventIds: (answer.eventIds as string[] | undefined) ?? [] });
  return refundId;
}

/** Waits until the order is credited, as a merchant refunds or a cardholder disputes only a delivered order. */
async function credited(stack: BenchStack, order: Tracked, counters: Counters): Promise<boolean> {
  if (await waitForCredit(stack, order.orderId)) return true;
  counters.laterFactsSkipped += 1;
  counters.trace.step(order.orderId, "later facts skipped: not fulfilled in time", {
    waitedMs: CREDIT_WAIT_MS,
  });
  return false;
}

/**
 * Paid, credited, then refunded: once in full; or twice (a third, then the rest or another third: a
 * lost notification of the second is what issue 22 item 1 was about); or in full, the refund failing
 * after it succeeded (Stripe's refund.failed) and, for some, refunded again.
 */
async function refundOnceCredited(stack: BenchStack, order: Tracked, counters: Counters): Promise<void> {
  if (!(await credited(stack, order, counters))) return;
  const { trace } = counters;
  const { fate, later } = order.plan;
  const amountMinor = PACKAGES[order.plan.provider].amountMinor;
  if (fate === "refund_twice") {
    const third = Math.floor(amountMinor / 3);
    await refund(stack, order, third, trace);
    await sleep(later.stepDelayMs);
    await refund(stack, order, later.secondRefundTakesRest ? amountMinor - third : third, trace);
    return;
  }
  const refundId = await refund(stack, order, amountMinor, trace);
  if (fate !== "refund_fail" || !refundId) return;
  await sleep(later.stepDelayMs);
  if (!(await tryTraced(stack, trace, order.orderId, "stripe/refund/fail", { refundId }))) return;
  counters.laterFacts.refundsFailedAfterSuccess += 1;
  if (!later.refundAgain) return;
  await sleep(later.stepDelayMs);
  await refund(stack, order, amountMinor, trace);
}

/** Paid, credited, then charged back (the whole amount or half), and the bank decides (or not yet). */
async function disputeOnceCredited(stack: BenchStack, order: Tracked, counters: Counters): Promise<void> {
  if (!(await credited(stack, order, counters))) return;
  const { trace } = counters;
  const { later } = order.plan;
  const amountMinor = PACKAGES.stripe.amountMinor;
  const opened = await tryTraced(stack, trace, order.orderId, "stripe/dispute", {
    orderId: order.orderId,
    amountMinor: later.disputeWholeAmount ? amountMinor : Math.floor(amountMinor / 2),
  });
  if (!opened) return;
  counters.laterFacts.disputesOpened += 1;
  const disputeId = String(opened.disputeId);
  if (later.disputeOutcome === "open") return;
  await sleep(later.stepDelayMs);
  await tryTraced(stack, trace, order.orderId, "stripe/dispute/move", { disputeId, step: "respond" });
  await sleep(later.stepDelayMs);
  await weeksPass(stack, order.orderId, trace);
  const decided = await tryTraced(stack, trace, order.orderId, "stripe/dispute/move", {
    disputeId,
    step: later.disputeOutcome,
  });
  if (decided && later.disputeOutcome === "won") counters.laterFacts.disputesWon += 1;
  if (decided && later.disputeOutcome === "lost") counters.laterFacts.disputesLost += 1;
}

/** How long the run waits for a dispute's incident before the bank decides anyway (the check then says so). */
const DISPUTE_INCIDENT_WAIT_MS = 15_000;
/**
 * An outbox row this old was left by a call that gave up (its own delivery and a redelivery's handover
 * have had their turn): on the run's clock (a tick for five minutes) the cron drain would have taken it.
 */
const OUTBOX_LEFT_AFTER_MS = 5_000;
/** Past the cron drain's minimum age (src/ledger/incident-outbox.ts OUTBOX_MIN_AGE_SECONDS). */
const OUTBOX_AGED_BY = "1 hour";

/**
 * A bank decides a dispute weeks after it opened, when thousands of cron ticks have delivered whatever
 * the dispute's settlement left in the incident outbox. The run's decision comes seconds later, so the
 * run waits until the dispute's incident is raised, and lets time pass for an outbox row of it that a
 * call left behind (else the resolve would replace the undelivered raise and the incident never show).
 * Rows still young are left alone: their own delivery is under way, and a second one would only add load.
 */
export async function weeksPass(
  stack: BenchStack,
  orderId: string,
  trace: Trace,
  traceKey = orderId,
): Promise<void> {
  const startedMs = Date.now();
  const key = `dispute:${orderId}`;
  while (Date.now() - startedMs < DISPUTE_INCIDENT_WAIT_MS) {
    const [raised] = await stack.standIn.query<{ n: number }>(
      "select count(*)::int as n from payguard.incidents where key = $1",
      [key],
    );
    if ((raised?.n ?? 0) > 0) break;
    await stack.standIn.query(
      `update payguard.incident_outbox set created_at = created_at - interval '${OUTBOX_AGED_BY}'
        where key = $1 and leased_until is null
          and created_at between now() - interval '${OUTBOX_AGED_BY}' and now() - make_interval(secs => $2)`,
      [key, OUTBOX_LEFT_AFTER_MS / 1000],
    );
    await sleep(POLL_MS);
  }
  trace.step(traceKey, "weeks pass before the bank decides", { orderId, waitedMs: Date.now() - startedMs });
}

/** A bank debit: the session completes unpaid, the money (or its failure) comes a little later. */
async function payAsync(stack: BenchStack, order: Tracked, trace: Trace, sessionId: string): Promise<void> {
  const { later } = order.plan;
  await traced(stack, trace, order.orderId, "stripe/pay", {
    orderId: order.orderId,
    sessionId,
    async: "pending",
  });
  await sleep(later.stepDelayMs);
  if (later.asyncSucceeds) order.paidAtMs = Date.now();
  await traced(stack, trace, order.orderId, "stripe/pay/finish", {
    orderId: order.orderId,
    status: later.asyncSucceeds ? "succeeded" : "failed",
  });
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
  if (plan.fate === "async" && sessionId) {
    await payAsync(stack, order, trace, sessionId);
    return order;
  }
  if (plan.fate === "free") {
    // A 100 % promotion code: Checkout completes with nothing to pay (no_payment_required).
    order.paidAtMs = Date.now();
    await traced(stack, trace, order.orderId, "stripe/pay", {
      orderId: order.orderId,
      sessionId,
      discountMinor: amountMinor,
    });
    return order;
  }
  await pay(stack, order, amountMinor, trace, sessionId);
  if (plan.fate === "pay_confirm") await openSuccessPage(stack, order, counters);
  if (REFUND_FATES.has(plan.fate)) await refundOnceCredited(stack, order, counters);
  if (plan.fate === "dispute") await disputeOnceCredited(stack, order, counters);
  return order;
}

const REFUND_FATES: ReadonlySet<Fate> = new Set(["refund", "refund_twice", "refund_fail"]);

/** What the run made happen at the sandbox beyond payments, for the fault counts. */
export interface LaterFactCounts {
  refundsFailedAfterSuccess: number;
  disputesOpened: number;
  disputesWon: number;
  disputesLost: number;
}

export interface Counters {
  cronRuns: Record<string, number>;
  confirms: Record<string, number>;
  /** Orders whose refunds or dispute were not made because they were not credited in time. */
  laterFactsSkipped: number;
  laterFacts: LaterFactCounts;
  finalTicks: number;
  /** Each order's steps, for explaining a violation. */
  trace: Trace;
}
