/**
 * The chaos simulation: the sandbox pays, abandons and refunds orders on both providers while its seeded
 * faults drop, duplicate, reorder and delay deliveries and fail API calls; the stand-in fails a seeded
 * share of database calls; crons are triggered concurrently all along. When the orders are done the
 * faults stop, the queues drain, the crons run twice more, and the checks decide.
 */
import { createHash } from "node:crypto";
import type { RpcStatsSnapshot } from "../../dev/supabase/rpc-stats.ts";
import { runPool } from "../lib/measure.ts";
import type { BenchStack } from "../lib/stack.ts";
import { type CheckReport, checkSystem, unfinishedWork } from "./checks.ts";
import { type OrderPlan, planOrders } from "./plan.ts";
import { PROFILES, type ProfileName } from "./profiles.ts";

/** Orders in flight at once. */
const ORDER_CONCURRENCY = 32;
const CRON_TICK_MS = 1_000;
const RECONCILE_CRON = "*/5 * * * *";
const HOURLY_CRON = "0 * * * *";
/** One tick stands for five minutes, so the hourly job comes every twelfth tick, as in an hour. */
const TICKS_PER_HOUR = 12;
/**
 * Ticks after the faults stopped: at least two (a failed event is taken again by one reconcile run, its
 * audit incident resolved by the next hourly run), and more while work is left, up to this many.
 */
const FINAL_TICKS_MAX = 8;
/** Abandoned orders expire this soon, so "nothing pending past expiry" is checked within the run. */
const ABANDON_EXPIRY_S = 5;
const PAID_ORDER_EXPIRY_S = 1800;
const CREDIT_WAIT_MS = 20_000;
const POLL_MS = 200;
/** Longer than the last retry (about a minute after the one before) of a delivery refused just before the faults stopped. */
const DRAIN_WAIT_MS = 90_000;
const PACKAGES = {
  stripe: { id: "chaos_usd", amountMinor: 1999, currency: "usd" },
  wechatpay: { id: "chaos_cny", amountMinor: 9900, currency: "CNY" },
} as const;

export interface ChaosOptions {
  seed: number;
  orders: number;
  faults: ProfileName;
}

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
async function openSession(stack: BenchStack, orderId: string, amountMinor: number): Promise<string> {
  const { sessionId } = await stack.control<{ sessionId: string }>("stripe/abandon", {
    orderId,
    amountMinor,
  });
  await stack.standIn.query("select payguard.set_provider_ref($1, $2, now())", [orderId, sessionId]);
  return sessionId;
}

async function pay(
  stack: BenchStack,
  order: Tracked,
  amountMinor: number,
  sessionId?: string,
): Promise<void> {
  const pkg = PACKAGES[order.plan.provider];
  const path = order.plan.provider === "stripe" ? "stripe/pay" : "wechat/pay";
  order.paidAtMs = Date.now();
  await stack.control(path, { orderId: order.orderId, sessionId, amountMinor, currency: pkg.currency });
}

async function createTracked(stack: BenchStack, seed: number, plan: OrderPlan): Promise<Tracked> {
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
  // The success page asks as the signed-in customer (a token minted by the stand-in's Auth keys).
  const token = await stack.standIn.userToken(order.userId);
  const answer = await fetch(`${stack.workerUrl}/api/orders/${order.orderId}`, {
    headers: { authorization: `Bearer ${token}` },
  }).catch(() => null);
  await answer?.arrayBuffer();
  const key = String(answer?.status ?? "network");
  counters.confirms[key] = (counters.confirms[key] ?? 0) + 1;
}

interface RefundDelivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const REFUND_DELIVERY_ATTEMPTS_MAX = 20;
const REFUND_DELIVERY_RETRY_MS = 250;

async function deliverUntilAnswered(stack: BenchStack, delivery: RefundDelivery): Promise<void> {
  for (let attempt = 0; attempt < REFUND_DELIVERY_ATTEMPTS_MAX; attempt += 1) {
    const answer = await fetch(`${stack.workerUrl}/webhooks/wechatpay`, {
      method: "POST",
      headers: delivery.headers,
      body: delivery.body,
    }).catch(() => null);
    await answer?.arrayBuffer();
    if (answer?.ok) return;
    await sleep(REFUND_DELIVERY_RETRY_MS);
  }
}

async function refundOnceCredited(stack: BenchStack, order: Tracked, counters: Counters): Promise<void> {
  if (!(await waitForCredit(stack, order.orderId))) {
    counters.refundsSkipped += 1;
    return;
  }
  const amountMinor = PACKAGES[order.plan.provider].amountMinor;
  if (order.plan.provider === "stripe") {
    await stack.control("stripe/refund", { orderId: order.orderId, amountMinor });
  } else {
    // A lost WeChat refund notification is recovered only by the next day's trade bill (as an incident
    // for an operator), which a run of seconds never reaches: its delivery bypasses the fault mix, retried
    // until answered as WeChat retries for 24 h. (Stripe refunds are recovered by the events backfill.)
    const { deliveries } = await stack.control<{ deliveries: RefundDelivery[] }>("wechat/refund", {
      orderId: order.orderId,
      amountMinor,
      deliver: false,
    });
    for (const delivery of deliveries) await deliverUntilAnswered(stack, delivery);
  }
  order.refunded = true;
}

async function runOrder(
  stack: BenchStack,
  seed: number,
  plan: OrderPlan,
  counters: Counters,
): Promise<Tracked> {
  const order = await createTracked(stack, seed, plan);
  const pkg = PACKAGES[plan.provider];
  // A mismatch: the customer is charged another amount than the order's (e.g. a price changed meanwhile).
  const amountMinor = plan.fate === "mismatch" ? pkg.amountMinor + 1 : pkg.amountMinor;
  const sessionId =
    plan.provider === "stripe" ? await openSession(stack, order.orderId, amountMinor) : undefined;
  if (plan.fate === "abandon") {
    // What Stripe does when the session's time runs out, without waiting for it. A WeChat customer who
    // leaves before paying leaves nothing at WeChat (the sandbox has no prepay order yet), so only the
    // reconcile cron's query can expire that order.
    if (plan.provider === "stripe") await stack.control("stripe/expire", { orderId: order.orderId });
    return order;
  }
  await pay(stack, order, amountMinor, sessionId);
  if (plan.fate === "pay_confirm") await openSuccessPage(stack, order, counters);
  if (plan.fate === "refund") await refundOnceCredited(stack, order, counters);
  return order;
}

export interface Counters {
  cronRuns: Record<string, number>;
  confirms: Record<string, number>;
  refundsSkipped: number;
  finalTicks: number;
}

function cronLoop(stack: BenchStack, counters: Counters) {
  let stopped = false;
  const fire = async (cron: string) => {
    const response = await fetch(`${stack.workerUrl}/__scheduled?cron=${encodeURIComponent(cron)}`).catch(
      () => null,
    );
    await response?.arrayBuffer();
    const key = `${cron} ${response?.status ?? "network"}`;
    counters.cronRuns[key] = (counters.cronRuns[key] ?? 0) + 1;
  };
  /** Two reconcile runs at once every tick, the hourly job overlapping them every twelfth tick. */
  const tick = async (n: number) =>
    Promise.all([
      fire(RECONCILE_CRON),
      fire(RECONCILE_CRON),
      ...(n % TICKS_PER_HOUR === 0 ? [fire(HOURLY_CRON)] : []),
    ]);
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      await Promise.all([tick(n), sleep(CRON_TICK_MS)]);
    }
  })();
  return {
    tick,
    /** No new tick starts; resolves when the one in flight (a long reconcile run, maybe) has ended. */
    stop(): Promise<void> {
      stopped = true;
      return loop;
    },
  };
}

async function setFaults(stack: BenchStack, options: ChaosOptions, on: boolean): Promise<void> {
  const profile = PROFILES[options.faults];
  await stack.control("faults", { clear: true });
  stack.standIn.setFaultRate(0, options.seed);
  if (!on) return;
  await stack.control("faults", {
    ...(profile.delivery ? { delivery: profile.delivery } : {}),
    api: profile.api,
  });
  stack.standIn.setFaultRate(profile.dbFailureRate, options.seed);
}

async function drain(stack: BenchStack): Promise<number> {
  const deadline = Date.now() + DRAIN_WAIT_MS;
  await stack.control("deliveries/release", { all: true });
  for (;;) {
    const { pending } = await stack.control<{ pending: Record<string, number> }>("deliveries?wait=1");
    const left = Object.values(pending).reduce((sum, n) => sum + n, 0);
    if (left === 0) return left;
    if (Date.now() > deadline) {
      console.error(`chaos: deliveries left after the drain: ${JSON.stringify(pending)}`);
      return left;
    }
  }
}

export interface ChaosResult {
  options: ChaosOptions;
  wallMs: number;
  phasesMs: Record<string, number>;
  faults: Record<string, unknown>;
  report: CheckReport;
}

/** Every fault that fired, as the sandbox and the stand-in logged them, and what the simulation did. */
async function faultCounts(
  stack: BenchStack,
  counters: Counters,
  dbFaults: RpcStatsSnapshot,
  undelivered: number,
): Promise<Record<string, unknown>> {
  const totals = await stack.control<{
    deliveries: { attempts: number; byFault: Record<string, number>; byStatus: Record<string, number> };
    calls: { calls: number; byFault: Record<string, number> };
  }>("totals");
  return {
    deliveryFaults: totals.deliveries.byFault,
    deliveryAttemptsByStatus: totals.deliveries.byStatus,
    undeliveredAfterDrain: undelivered,
    apiCalls: totals.calls.calls,
    apiFaults: totals.calls.byFault,
    injectedDatabaseFailures: dbFaults.injectedFailures,
    injectedByFunction: dbFaults.injectedByFunction,
    cronRuns: counters.cronRuns,
    successPageVisits: counters.confirms,
    refundsSkippedNeverCredited: counters.refundsSkipped,
    ticksAfterFaultsStopped: counters.finalTicks,
  };
}

async function runOrders(stack: BenchStack, options: ChaosOptions, counters: Counters): Promise<Tracked[]> {
  const plans = planOrders(options.seed, options.orders, PROFILES[options.faults].wechatAbandons);
  const tracked: Tracked[] = new Array(plans.length);
  await runPool(plans, ORDER_CONCURRENCY, async (plan) => {
    tracked[plan.index] = await runOrder(stack, options.seed, plan, counters);
  });
  return tracked;
}

export async function simulate(stack: BenchStack, options: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  await stack.standIn.query(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('chaos_usd', 'chaos', 1999, 'USD', 100, true), ('chaos_cny', 'chaos', 9900, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
  const counters: Counters = { cronRuns: {}, confirms: {}, refundsSkipped: 0, finalTicks: 0 };
  await setFaults(stack, options, true);
  const crons = cronLoop(stack, counters);
  let tracked: Tracked[];
  let cronsStopped: Promise<void>;
  try {
    tracked = await runOrders(stack, options, counters);
  } finally {
    // A tick still running goes on beside the drain and the final ticks (crons overlap anyway).
    cronsStopped = crons.stop();
  }
  const ordersDoneMs = performance.now();
  const dbFaults = stack.standIn.stats(false);
  await setFaults(stack, options, false);
  const undelivered = await drain(stack);
  const drainedMs = performance.now();
  const lastExpiry = Math.max(0, ...tracked.map((order) => order.expiresAtMs));
  await sleep(Math.max(0, Math.min(lastExpiry - Date.now() + 100, ABANDON_EXPIRY_S * 1000)));
  // Time passes for the final ticks: every pending order's next provider check comes due, as it would
  // within minutes (the backoff's first step is one minute; this run lasts seconds).
  await stack.standIn.query(
    "update payguard.payment_orders set next_check_at = now() where status = 'pending'",
  );
  let finalTicks = 0;
  let lastTickStartedMs = Date.now();
  do {
    lastTickStartedMs = Date.now();
    await crons.tick(0);
    finalTicks += 1;
  } while (finalTicks < 2 || (finalTicks < FINAL_TICKS_MAX && (await unfinishedWork(stack)) > 0));
  counters.finalTicks = finalTicks;
  await cronsStopped;
  const faults = await faultCounts(stack, counters, dbFaults, undelivered);
  const phasesMs = {
    orders: Math.round(ordersDoneMs - started),
    drain: Math.round(drainedMs - ordersDoneMs),
    finalTicks: Math.round(performance.now() - drainedMs),
  };
  const report = await checkSystem(stack, tracked, lastTickStartedMs);
  return { options, wallMs: performance.now() - started, phasesMs, faults, report };
}
