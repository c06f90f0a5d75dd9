/**
 * The chaos simulation: the sandbox pays, abandons, refunds (once, twice, or with the refund failing
 * later) and disputes orders on both providers, and renews, retries, upgrades, refunds, disputes and
 * cancels subscriptions (a tenth of the planned work), while its seeded faults drop, duplicate, reorder and
 * delay deliveries (WeChat refund notifications a further share) and fail API calls; the stand-in fails
 * a seeded share of database calls and loses a seeded share of connections mid-transaction; crons are
 * triggered concurrently all along. When the orders are done the faults stop, the queues drain, WeChat's
 * bill of the run's days is checked as the next morning's cron would (./wechat-bill.ts), the crons run
 * twice more, and the checks decide; each violating order is then explained from what the run recorded
 * (./trace.ts, ./explain.ts).
 */
import type { RpcStatsSnapshot } from "../../dev/supabase/rpc-stats.ts";
import { runPool } from "../lib/measure.ts";
import type { BenchStack } from "../lib/stack.ts";
import { type Check, type CheckReport, checkSystem, unfinishedWork } from "./checks.ts";
import { explainViolations, type ViolationReport } from "./explain.ts";
import { ABANDON_EXPIRY_S, type Counters, runOrder, sleep, type Tracked } from "./orders.ts";
import { planOrders } from "./plan.ts";
import { PROFILES, type ProfileName } from "./profiles.ts";
import { createPacer, seedPlans } from "./subscription-calls.ts";
import { checkSubscriptions, invoiceCreditLatency } from "./subscription-checks.ts";
import { subscriptionExplainer } from "./subscription-explain.ts";
import { planSubscriptions, subscriptionCount } from "./subscription-plan.ts";
import {
  newSubscriptionCounts,
  runSubscription,
  type SubscriptionCounts,
  type TrackedSubscription,
} from "./subscriptions.ts";
import { acknowledgedDeliveries, createTrace, recordSandboxLogs } from "./trace.ts";
import { runWechatBills, wechatRefundNotificationFaults } from "./wechat-bill.ts";

/** A progress line (stderr) per this many orders done: a stalled run shows where. */
const PROGRESS_EVERY_ORDERS = 1_000;
/** Orders in flight at once. */
const ORDER_CONCURRENCY = 32;
/** Subscriptions in flight at once, beside the orders (each mostly waits: for a credit, a second, a dispute's incident). */
const SUBSCRIPTION_CONCURRENCY = 16;
/** A progress line (stderr) per this many subscriptions done. */
const PROGRESS_EVERY_SUBSCRIPTIONS = 100;
/**
 * Billing steps per second over all subscriptions, at most. Each paid invoice costs payguard Stripe calls
 * (its PaymentIntent, looked up by each delivery and again by the backfill), within the budget below.
 */
const BILLING_STEPS_PER_SECOND = 12;
/**
 * Deliveries the sandbox may hold unanswered before the next billing step waits (./subscription-calls.ts):
 * the orders alone keep a few hundred in flight, so subscriptions bill mostly beside the last orders and
 * after them rather than push the worker past what it answers in time.
 */
const BILLING_BACKLOG_MAX = 64;
/**
 * The worker's Stripe budget as a live account's (50 requests/s, src/budget/limits.ts) rather than the
 * test mode's 12/s the sandbox's keys would get: the run compresses a month of renewals into minutes.
 */
export const CHAOS_WORKER_VARS = { PROVIDER_REQUESTS_PER_SECOND: "stripe_test=50" };
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
/** Longer than the last retry (about a minute after the one before) of a delivery refused just before the faults stopped. */
const DRAIN_WAIT_MS = 90_000;

export interface ChaosOptions {
  seed: number;
  orders: number;
  faults: ProfileName;
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

/** Ticks `min` times, then on while work is left (FINAL_TICKS_MAX at most); answers when the last one started. */
async function tickUntilDone(
  stack: BenchStack,
  crons: ReturnType<typeof cronLoop>,
  min: number,
): Promise<{ ticks: number; lastStartedMs: number }> {
  let ticks = 0;
  let lastStartedMs = Date.now();
  do {
    // A tick stands for five minutes: incidents a call left in the outbox are that much older, so the
    // cron's drain (which takes rows a minute old) delivers them as it would by then; and the two-minute
    // lease a drain that failed left on its rows (src/ledger/incident-outbox.ts) has run out by then too.
    await stack.standIn.query(
      `update payguard.incident_outbox set created_at = created_at - interval '5 minutes',
              leased_until = leased_until - interval '5 minutes'`,
    );
    lastStartedMs = Date.now();
    await crons.tick(0);
    ticks += 1;
  } while (ticks < min || (ticks < FINAL_TICKS_MAX && (await unfinishedWork(stack)) > 0));
  return { ticks, lastStartedMs };
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
  stack.standIn.setFaultRate(profile.dbFailureRate, options.seed, profile.dbLostConnectionRate);
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
  /** Each violating order explained (absent when every check held). */
  violationReport?: ViolationReport;
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
    lostDatabaseConnections: dbFaults.lostConnections,
    lostByFunction: dbFaults.lostByFunction,
    cronRuns: counters.cronRuns,
    successPageVisits: counters.confirms,
    ...counters.laterFacts,
    laterFactsSkippedNeverCredited: counters.laterFactsSkipped,
    ticksAfterFaultsStopped: counters.finalTicks,
  };
}

async function runOrders(stack: BenchStack, options: ChaosOptions, counters: Counters): Promise<Tracked[]> {
  const orders = options.orders - subscriptionCount(options.orders);
  const plans = planOrders(options.seed, orders, PROFILES[options.faults].wechatAbandons);
  const tracked: Tracked[] = new Array(plans.length);
  const startedMs = Date.now();
  let done = 0;
  await runPool(plans, ORDER_CONCURRENCY, async (plan) => {
    tracked[plan.index] = await runOrder(stack, options.seed, plan, counters);
    done += 1;
    if (done % PROGRESS_EVERY_ORDERS === 0)
      console.error(
        `chaos: ${done}/${plans.length} orders after ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
      );
  });
  return tracked;
}

async function runSubscriptions(
  stack: BenchStack,
  options: ChaosOptions,
  trace: Counters["trace"],
  counts: SubscriptionCounts,
): Promise<TrackedSubscription[]> {
  const scenarios = planSubscriptions(options.seed, subscriptionCount(options.orders));
  const pace = createPacer(stack, BILLING_STEPS_PER_SECOND, BILLING_BACKLOG_MAX);
  const tracked: TrackedSubscription[] = new Array(scenarios.length);
  const startedMs = Date.now();
  let done = 0;
  await runPool(scenarios, SUBSCRIPTION_CONCURRENCY, async (scenario) => {
    tracked[scenario.index] = await runSubscription(stack, options.seed, scenario, trace, counts, pace);
    done += 1;
    if (done % PROGRESS_EVERY_SUBSCRIPTIONS === 0)
      console.error(
        `chaos: ${done}/${scenarios.length} subscriptions after ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
      );
  });
  return tracked;
}

/** The orders' report with the subscriptions' checks and paid → credited figures of invoices. */
function withSubscriptions(
  report: CheckReport,
  checks: Check[],
  latency: CheckReport["creditLatencyByPath"],
): CheckReport {
  return {
    checks: [...report.checks, ...checks],
    creditLatencyByPath: { ...report.creditLatencyByPath, ...latency },
    violations: report.violations + checks.reduce((sum, c) => sum + c.violations.length, 0),
  };
}

export async function simulate(stack: BenchStack, options: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const startedAtMs = Date.now();
  await stack.standIn.query(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('chaos_usd', 'chaos', 1999, 'USD', 100, true), ('chaos_cny', 'chaos', 9900, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
  await seedPlans(stack);
  const subscriptionCounts = newSubscriptionCounts();
  const counters: Counters = {
    cronRuns: {},
    confirms: {},
    laterFactsSkipped: 0,
    laterFacts: { refundsFailedAfterSuccess: 0, disputesOpened: 0, disputesWon: 0, disputesLost: 0 },
    finalTicks: 0,
    trace: createTrace(),
  };
  const recorder = recordSandboxLogs(stack);
  await setFaults(stack, options, true);
  const crons = cronLoop(stack, counters);
  let tracked: Tracked[];
  let subscriptions: TrackedSubscription[];
  let cronsStopped: Promise<void>;
  try {
    [tracked, subscriptions] = await Promise.all([
      runOrders(stack, options, counters),
      runSubscriptions(stack, options, counters.trace, subscriptionCounts),
    ]);
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
  const ticked = await tickUntilDone(stack, crons, 2);
  const billsStartedMs = performance.now();
  // The next morning, once every other path had its turn: WeChat's bill of each day the run touched,
  // which settles the refunds whose notifications were lost; then the crons once more (the outbox).
  const bills = await runWechatBills(stack, startedAtMs);
  const billsDoneMs = performance.now();
  const after = await tickUntilDone(stack, crons, 1);
  counters.finalTicks = ticked.ticks + after.ticks;
  const lastTickStartedMs = after.lastStartedMs;
  await cronsStopped;
  const faults = await faultCounts(stack, counters, dbFaults, undelivered);
  faults.wechatBills = bills;
  faults.subscriptions = subscriptionCounts;
  const phasesMs = {
    orders: Math.round(ordersDoneMs - started),
    drain: Math.round(drainedMs - ordersDoneMs),
    finalTicks: Math.round(billsStartedMs - drainedMs + (performance.now() - billsDoneMs)),
    wechatBills: Math.round(billsDoneMs - billsStartedMs),
  };
  const logs = await recorder.stop();
  faults.sandboxLogsCopied = {
    deliveries: logs.deliveries.length,
    calls: logs.calls.length,
    missed: logs.missed,
  };
  faults.wechatRefundNotifications = wechatRefundNotificationFaults(logs);
  const acknowledged = acknowledgedDeliveries(logs, counters.trace);
  const report = withSubscriptions(
    await checkSystem(stack, tracked, lastTickStartedMs, acknowledged),
    await checkSubscriptions(stack, subscriptions),
    await invoiceCreditLatency(stack, subscriptions),
  );
  const result: ChaosResult = { options, wallMs: performance.now() - started, phasesMs, faults, report };
  if (report.violations === 0) return result;
  const others = subscriptionExplainer(stack, subscriptions, counters.trace, logs);
  const violationReport = await explainViolations(stack, tracked, report, counters.trace, logs, others);
  return { ...result, violationReport };
}
