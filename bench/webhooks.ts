/**
 * `npm run bench` / `npm run bench:webhooks [-- --events N] [--runner miniflare|wrangler]
 * [--guards both|sharded|per-order]`: the webhook path end to end (worker → OrderGuard → stand-in →
 * Postgres) against its floor, `payguard.apply_payment` called directly over a pg pool, at concurrency
 * 1, 8 and 32, for Stripe and WeChat Pay. `--guards` picks how guard names map to OrderGuard objects:
 * the fixed set of shards the worker uses, one object per order (the layout before shards), or both
 * (the default), each on a fresh stack and database, side by side. The worker runs under Miniflare's API
 * by default; the probes and the Stripe phase at concurrency 32 are repeated under the other runner (with
 * the first layout) in the same run. Per event: database round trips and time (counted and timed by the
 * stand-in), CPU of workerd, of the runner's own process, of this process (stand-in + sandbox) and of the
 * Postgres backends; a V8 profile of the worker; the database cost of `settle_event` against
 * `apply_payment`; crypto alone in Node's WebCrypto. Prints tables, writes bench/results/webhooks.json.
 */
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import pg from "pg";
import { mulberry32 } from "../dev/sandbox/rng.ts";
import type { RpcStatsSnapshot } from "../dev/supabase/rpc-stats.ts";
import { measureCrypto } from "./lib/crypto-cost.ts";
import { machineInfo } from "./lib/machine.ts";
import { ownCpuMs, pidsCpuMs, type RunFigures, runPool } from "./lib/measure.ts";
import { profileWorker } from "./lib/profile.ts";
import { type BenchStack, portsFromEnv, startBenchStack, type WorkerRunner } from "./lib/stack.ts";

const EVENTS_DEFAULT = 5_000;
const DUPLICATE_SHARE = 0.2;
/** A duplicate arrives within this many events after its original (some overlap it at concurrency 32). */
const DUPLICATE_SPREAD_EVENTS = 64;
const CONCURRENCIES = [1, 8, 32] as const;
/** Events per probe layer: /proc counts CPU in 10 ms ticks, so 200 events read it to 0.05 ms each. */
const PROBE_EVENTS = 200;
/** Events per layer of the warm-up probe that runs before anything is measured. */
const WARM_UP_EVENTS = 40;
const PREPARE_CONCURRENCY = 8;
const STORM_DELIVERIES = 50;
/** The whole run stops itself after this long, whatever the sizes asked for. */
const RUN_TIME_MAX_MS = 20 * 60_000;
const WORKER_PORT_DEFAULT = 8807;
/** New Stripe events sent one at a time under the profiler. */
const PROFILE_EVENTS = 200;

type Provider = "stripe" | "wechatpay";
/** How guard names map to OrderGuard objects (src/guard/settle-order.ts `guardObject`). */
type GuardLayout = "sharded" | "per-order";
const GUARD_LAYOUT_VARS: Record<GuardLayout, Record<string, string>> = {
  sharded: {},
  "per-order": { ORDER_GUARD_LAYOUT: "per_order" },
};
interface Delivery {
  headers: Record<string, string>;
  body: string;
}
const PACKAGES: Record<Provider, { id: string; amountMinor: number; currency: string }> = {
  stripe: { id: "bench_usd", amountMinor: 1999, currency: "USD" },
  wechatpay: { id: "bench_cny", amountMinor: 9900, currency: "CNY" },
};

function runnerArg(): WorkerRunner {
  const index = process.argv.indexOf("--runner");
  const value = index >= 0 ? process.argv[index + 1] : "miniflare";
  if (value !== "miniflare" && value !== "wrangler")
    throw new Error("--runner must be miniflare or wrangler");
  return value;
}

function guardsArg(): GuardLayout[] {
  const index = process.argv.indexOf("--guards");
  const value = index >= 0 ? process.argv[index + 1] : "both";
  if (value === "both") return ["sharded", "per-order"];
  if (value !== "sharded" && value !== "per-order")
    throw new Error("--guards must be both, sharded or per-order");
  return [value];
}

function eventsArg(): number {
  const index = process.argv.indexOf("--events");
  const value = index >= 0 ? Number(process.argv[index + 1]) : EVENTS_DEFAULT;
  if (!Number.isInteger(value) || value < 10) throw new Error("--events must be an integer of at least 10");
  return value;
}

async function createOrders(stack: BenchStack, provider: Provider, count: number): Promise<string[]> {
  const rows = await stack.standIn.query<{ id: string }>(
    `select (payguard.create_order(gen_random_uuid(), $1, $2, now()))->>'id' as id from generate_series(1, $3)`,
    [PACKAGES[provider].id, provider, count],
  );
  return rows.map((row) => row.id);
}

async function signedPayments(
  stack: BenchStack,
  provider: Provider,
  orderIds: string[],
): Promise<Delivery[]> {
  const out: Delivery[] = new Array(orderIds.length);
  const indexes = orderIds.map((_, i) => i);
  await runPool(indexes, PREPARE_CONCURRENCY, async (i) => {
    const pkg = PACKAGES[provider];
    const path = provider === "stripe" ? "stripe/pay" : "wechat/pay";
    const answer = await stack.control<{ deliveries: Delivery[] }>(path, {
      orderId: orderIds[i],
      amountMinor: pkg.amountMinor,
      currency: provider === "stripe" ? pkg.currency.toLowerCase() : pkg.currency,
      deliver: false,
    });
    const delivery = answer.deliveries[0];
    if (!delivery) throw new Error(`sandbox emitted no ${provider} delivery`);
    out[i] = { headers: delivery.headers, body: delivery.body };
  });
  return out;
}

/** Originals in order, each duplicate a little after its original; the same seed, the same sequence. */
function withDuplicates(originals: Delivery[], duplicates: number, seed: number): Delivery[] {
  const random = mulberry32(seed);
  const keyed = originals.map((delivery, i) => ({ key: i, delivery }));
  for (let k = 0; k < duplicates; k++) {
    const i = Math.floor(random() * originals.length);
    const after = 1 + Math.floor(random() * DUPLICATE_SPREAD_EVENTS);
    keyed.push({ key: i + after + 0.5, delivery: originals[i] as Delivery });
  }
  return keyed.sort((a, b) => a.key - b.key).map((entry) => entry.delivery);
}

/** 5xx means "retry later": redelivered as the provider would, a few times, and counted. */
const REDELIVERIES_MAX = 5;
const REDELIVERY_PAUSE_MS = 200;
const redelivered = { count: 0 };

function poster(stack: BenchStack, provider: Provider) {
  const url = `${stack.workerUrl}/webhooks/${provider}`;
  return async (delivery: Delivery) => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(url, { method: "POST", headers: delivery.headers, body: delivery.body });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 204) return;
      if (response.status < 500 || attempt >= REDELIVERIES_MAX)
        throw new Error(`${provider} webhook answered ${response.status}`);
      redelivered.count += 1;
      await new Promise((resolve) => setTimeout(resolve, REDELIVERY_PAUSE_MS));
    }
  };
}

async function standInStats(stack: BenchStack, reset: boolean): Promise<RpcStatsSnapshot> {
  return stack.standIn.stats(reset);
}

async function postgresBackends(pool: pg.Pool | null): Promise<Map<number, number>> {
  if (!pool) return new Map();
  const { rows } = await pool.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = current_database()",
  );
  return new Map(rows.map((row) => [row.pid, pidsCpuMs([row.pid])]));
}

async function cpuSince(
  stack: BenchStack,
  pool: pg.Pool | null,
  before: { worker: { workerd: number; runner: number }; bench: number; postgres: Map<number, number> },
) {
  const after = await postgresBackends(pool);
  let postgres = 0;
  for (const [pid, ms] of after) postgres += ms - (before.postgres.get(pid) ?? 0);
  const worker = stack.workerCpuMs();
  return {
    workerdMs: worker.workerd - before.worker.workerd,
    wranglerMs: worker.runner - before.worker.runner,
    benchProcessMs: ownCpuMs() - before.bench,
    postgresMs: postgres,
  };
}

async function cpuNow(stack: BenchStack, pool: pg.Pool | null) {
  return {
    worker: stack.workerCpuMs(),
    bench: ownCpuMs(),
    postgres: await postgresBackends(pool),
  };
}

interface PhaseResult {
  guards: GuardLayout;
  provider: Provider;
  concurrency: number;
  events: number;
  newEvents: number;
  webhook: RunFigures;
  /** Deliveries answered 5xx (the worker could not finish in time) and sent again. */
  redeliveries: number;
  floor: RunFigures | null;
  ratio: number | null;
  perEvent: {
    roundTrips: number;
    dbTransactionMs: number;
    dbCallMs: number;
    workerdCpuMs: number;
    wranglerProxyCpuMs: number;
    standInAndSandboxCpuMs: number;
    postgresCpuMs: number;
  };
  byFunction: RpcStatsSnapshot["byFunction"];
}

async function webhookPhase(
  stack: BenchStack,
  pool: pg.Pool | null,
  guards: GuardLayout,
  provider: Provider,
  concurrency: number,
  events: number,
): Promise<PhaseResult> {
  const newEvents = Math.round(events * (1 - DUPLICATE_SHARE));
  const orders = await createOrders(stack, provider, newEvents);
  const deliveries = withDuplicates(
    await signedPayments(stack, provider, orders),
    events - newEvents,
    concurrency,
  );
  await standInStats(stack, true);
  redelivered.count = 0;
  const cpuBefore = await cpuNow(stack, pool);
  const webhook = await runPool(deliveries, concurrency, poster(stack, provider));
  const redeliveries = redelivered.count;
  const cpu = await cpuSince(stack, pool, cpuBefore);
  const stats = await standInStats(stack, true);
  const [check] = await stack.standIn.query<{ fulfilled: number; grants: number }>(
    `select count(*) filter (where o.status = 'fulfilled')::int as fulfilled,
            (select count(*)::int from payguard.credit_ledger l where l.order_id = any($1)) as grants
       from payguard.payment_orders o where o.id = any($1)`,
    [orders],
  );
  if (check?.fulfilled !== newEvents || check.grants !== newEvents)
    throw new Error(`${provider} c=${concurrency}: ${JSON.stringify(check)} for ${newEvents} orders`);
  const floor = pool ? await floorPhase(stack, provider, concurrency, events) : null;
  return {
    guards,
    provider,
    concurrency,
    events,
    newEvents,
    webhook,
    redeliveries,
    floor,
    ratio: floor ? webhook.perSecond / floor.perSecond : null,
    perEvent: {
      roundTrips: stats.calls / events,
      dbTransactionMs: stats.dbMs / events,
      dbCallMs: stats.callMs / events,
      workerdCpuMs: cpu.workerdMs / events,
      wranglerProxyCpuMs: cpu.wranglerMs / events,
      standInAndSandboxCpuMs: cpu.benchProcessMs / events,
      postgresCpuMs: cpu.postgresMs / events,
    },
    byFunction: stats.byFunction,
  };
}

/** The floor: the one transaction a new payment cannot avoid, called directly at the same concurrency. */
async function floorPhase(
  stack: BenchStack,
  provider: Provider,
  concurrency: number,
  events: number,
): Promise<RunFigures> {
  const orders = await createOrders(stack, provider, events);
  const floorPool = new pg.Pool({ connectionString: stack.databaseUrl as string, max: concurrency });
  try {
    await Promise.all(Array.from({ length: concurrency }, () => floorPool.query("select 1")));
    const pkg = PACKAGES[provider];
    return await runPool(orders, concurrency, async (orderId) => {
      await floorPool.query(
        `select payguard.apply_payment(p_provider => $1, p_order_id => $2, p_payment_ref => $3,
           p_amount_minor => $4, p_currency => $5, p_paid_at => now(), p_source => 'webhook', p_now => now())`,
        [provider, orderId, `floor_${randomUUID()}`, pkg.amountMinor, pkg.currency],
      );
    });
  } finally {
    await floorPool.end();
  }
}

const DB_COST_EVENTS = 400;

/**
 * The database's own cost of a new event: `settle_event` as the worker calls it (inbox record, lookup,
 * settlement, finish) against the floor's `apply_payment`, alternated on one connection so both see the
 * same load. Time is the round trip on localhost; CPU is the serving Postgres backend's.
 */
async function dbCostPerNewEvent(stack: BenchStack) {
  const pkg = PACKAGES.stripe;
  const settleOrders = await createOrders(stack, "stripe", DB_COST_EVENTS);
  const floorOrders = await createOrders(stack, "stripe", DB_COST_EVENTS);
  const client = new pg.Client({ connectionString: stack.databaseUrl as string });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
    const backend = rows[0]?.pid as number;
    const totals = { settleMs: 0, settleCpuMs: 0, applyMs: 0, applyCpuMs: 0 };
    const timed = async (sql: string, params: unknown[]) => {
      const cpu0 = pidsCpuMs([backend]);
      const t0 = performance.now();
      await client.query(sql, params);
      return { ms: performance.now() - t0, cpuMs: pidsCpuMs([backend]) - cpu0 };
    };
    for (let i = 0; i < DB_COST_EVENTS; i++) {
      const orderId = settleOrders[i] as string;
      const settled = await timed(
        `select payguard.settle_event(p_provider => 'stripe', p_event_id => $1, p_event_type => 'checkout.session.completed',
           p_locator => $2::jsonb, p_facts => $3::jsonb, p_source => 'webhook', p_now => now())`,
        [
          `evt_cost_${randomUUID()}`,
          JSON.stringify({ by: "session", ref: `cs_${orderId}`, claimed_order_id: orderId }),
          JSON.stringify([
            {
              kind: "paid",
              provider: "stripe",
              order_id: null,
              payment_ref: `pi_${randomUUID()}`,
              amount_minor: pkg.amountMinor,
              discount_minor: 0,
              currency: pkg.currency,
              paid_at: new Date().toISOString(),
              provider_ref: `cs_${orderId}`,
              metadata: { order_id: orderId },
            },
          ]),
        ],
      );
      const applied = await timed(
        `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
           p_amount_minor => $3, p_currency => $4, p_paid_at => now(), p_source => 'webhook', p_now => now())`,
        [floorOrders[i], `floor_${randomUUID()}`, pkg.amountMinor, pkg.currency],
      );
      totals.settleMs += settled.ms;
      totals.settleCpuMs += settled.cpuMs;
      totals.applyMs += applied.ms;
      totals.applyCpuMs += applied.cpuMs;
    }
    const per = (ms: number) => ms / DB_COST_EVENTS;
    return {
      events: DB_COST_EVENTS,
      settleEventMs: per(totals.settleMs),
      applyPaymentMs: per(totals.applyMs),
      settleEventPostgresCpuMs: per(totals.settleCpuMs),
      applyPaymentPostgresCpuMs: per(totals.applyCpuMs),
      ratio: totals.settleMs / totals.applyMs,
    };
  } finally {
    await client.end();
  }
}

/**
 * Exact costs per event, sent one at a time, layer by layer: a forged event (HTTP, wrangler dev's proxy,
 * verification; nothing else), a duplicate (+ the inbox call) and a new event (+ the OrderGuard hop,
 * settlement and inbox finish). CPU is read per layer, so the differences say where the time goes.
 */
async function probe(stack: BenchStack, provider: Provider, events = PROBE_EVENTS) {
  const orders = await createOrders(stack, provider, events);
  const deliveries = await signedPayments(stack, provider, orders);
  const forged = deliveries.map((d) => ({
    headers: d.headers,
    body: d.body.replace(/"id":\s*"/, '"id":"x'),
  }));
  const url = `${stack.workerUrl}/webhooks/${provider}`;
  const rejecting = async (delivery: Delivery) => {
    const response = await fetch(url, { method: "POST", headers: delivery.headers, body: delivery.body });
    await response.arrayBuffer();
    if (response.status < 400 || response.status >= 500)
      throw new Error(`${provider} forged event answered ${response.status}`);
  };
  const measure = async (items: Delivery[], post: (delivery: Delivery) => Promise<void>) => {
    await standInStats(stack, true);
    const cpuBefore = await cpuNow(stack, null);
    const figures = await runPool(items, 1, post);
    const cpu = await cpuSince(stack, null, cpuBefore);
    const stats = await standInStats(stack, true);
    return {
      meanLatencyMs: figures.wallMs / items.length,
      roundTrips: stats.calls / items.length,
      dbTransactionMs: stats.dbMs / items.length,
      dbCallMs: stats.callMs / items.length,
      workerdCpuMs: cpu.workerdMs / items.length,
      wranglerProxyCpuMs: cpu.wranglerMs / items.length,
      standInAndSandboxCpuMs: cpu.benchProcessMs / items.length,
      functions: Object.fromEntries(
        Object.entries(stats.byFunction).map(([name, f]) => [name, f.calls / items.length]),
      ),
    };
  };
  const post = poster(stack, provider);
  return {
    forged: await measure(forged, rejecting),
    newEvent: await measure(deliveries, post),
    duplicate: await measure(deliveries, post),
  };
}

/**
 * Where the worker's CPU goes: V8 profiles of forged events (HTTP, routing, verification: everything
 * before the first database call) and of new events, the busiest functions per event.
 */
async function profileWorkerSteps(stack: BenchStack, inspectorPort: number) {
  const orders = await createOrders(stack, "stripe", PROFILE_EVENTS);
  const deliveries = await signedPayments(stack, "stripe", orders);
  const forged = deliveries.map((d) => ({
    headers: d.headers,
    body: d.body.replace(/"id":\s*"/, '"id":"x'),
  }));
  const post = poster(stack, "stripe");
  const rejected = async (delivery: Delivery) => {
    await (await fetch(`${stack.workerUrl}/webhooks/stripe`, { method: "POST", ...delivery })).arrayBuffer();
  };
  const step = async (items: Delivery[], send: (delivery: Delivery) => Promise<void>) => {
    const { busyMs, frames } = await profileWorker(inspectorPort, () => runPool(items, 1, send));
    return {
      events: items.length,
      busyMsPerEvent: busyMs / items.length,
      frames: frames.map((f) => ({ frame: f.frame, msPerEvent: f.selfMs / items.length, share: f.share })),
    };
  };
  return { forged: await step(forged, rejected), newEvent: await step(deliveries, post) };
}

async function storm(stack: BenchStack): Promise<{ deliveries: number; ms: number; grants: number }> {
  const [orderId] = await createOrders(stack, "stripe", 1);
  const [delivery] = await signedPayments(stack, "stripe", [orderId as string]);
  const post = poster(stack, "stripe");
  const started = performance.now();
  await Promise.all(Array.from({ length: STORM_DELIVERIES }, () => post(delivery as Delivery)));
  const ms = performance.now() - started;
  const [row] = await stack.standIn.query<{ n: number }>(
    "select count(*)::int as n from payguard.credit_ledger where order_id = $1",
    [orderId],
  );
  return { deliveries: STORM_DELIVERIES, ms, grants: row?.n ?? -1 };
}

const fmt = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined ? "-" : n.toFixed(digits);

function printTable(phases: PhaseResult[]): void {
  console.log(
    "\nguards    provider   conc  events   ev/s   p50ms  p95ms  p99ms | floor/s  f.p50 | ratio | RT/ev  db ms/ev  call ms/ev | cpu ms/ev: workerd wrangler standin+sbx postgres",
  );
  for (const p of phases) {
    console.log(
      [
        p.guards.padEnd(9),
        p.provider.padEnd(9),
        String(p.concurrency).padStart(5),
        String(p.events).padStart(7),
        fmt(p.webhook.perSecond).padStart(6),
        fmt(p.webhook.p50Ms).padStart(7),
        fmt(p.webhook.p95Ms).padStart(6),
        fmt(p.webhook.p99Ms).padStart(6),
        "|",
        fmt(p.floor?.perSecond).padStart(7),
        fmt(p.floor?.p50Ms, 2).padStart(6),
        "|",
        fmt(p.ratio, 3).padStart(5),
        "|",
        fmt(p.perEvent.roundTrips, 2).padStart(5),
        fmt(p.perEvent.dbTransactionMs, 2).padStart(9),
        fmt(p.perEvent.dbCallMs, 2).padStart(11),
        "|",
        fmt(p.perEvent.workerdCpuMs, 2).padStart(18),
        fmt(p.perEvent.wranglerProxyCpuMs, 2).padStart(8),
        fmt(p.perEvent.standInAndSandboxCpuMs, 2).padStart(12),
        fmt(p.perEvent.postgresCpuMs, 2).padStart(9),
      ].join(" "),
    );
  }
}

type Probes = Record<Provider, Awaited<ReturnType<typeof probe>>>;

function printDetails(probes: Probes, stormResult: Awaited<ReturnType<typeof storm>>): void {
  console.log("\nper event, sent one at a time (round trips = RPCs at the stand-in):");
  for (const [provider, p] of Object.entries(probes)) {
    for (const [kind, m] of Object.entries(p)) {
      console.log(
        `  ${provider.padEnd(9)} ${kind.padEnd(9)} ${fmt(m.meanLatencyMs, 2)} ms, ${fmt(m.roundTrips, 2)} RT, db ${fmt(m.dbTransactionMs, 2)} ms (calls ${fmt(m.dbCallMs, 2)} ms), cpu workerd ${fmt(m.workerdCpuMs, 2)} wrangler ${fmt(m.wranglerProxyCpuMs, 2)} standin+sbx ${fmt(m.standInAndSandboxCpuMs, 2)} ms: ${JSON.stringify(m.functions)}`,
      );
    }
  }
  console.log(
    `\nstorm: ${stormResult.deliveries} concurrent copies of one event in ${fmt(stormResult.ms, 0)} ms, ${stormResult.grants} grant(s) (must be 1)`,
  );
}

function printCrypto(crypto: Record<string, number>): void {
  console.log("\ncrypto alone, µs per event (Node WebCrypto; workerd CPU where the row says workerd):");
  for (const [name, us] of Object.entries(crypto)) console.log(`  ${name.padEnd(44)} ${fmt(us, 1)}`);
}

function printProfile(profile: Awaited<ReturnType<typeof profileWorkerSteps>>): void {
  for (const [name, step] of Object.entries(profile)) {
    console.log(
      `\nworker CPU profile, ${step.events} ${name === "forged" ? "forged" : "new"} Stripe events one at a time: ${fmt(step.busyMsPerEvent, 2)} ms busy per event; top frames (self ms per event):`,
    );
    for (const f of step.frames.slice(0, 12))
      console.log(
        `  ${fmt(f.msPerEvent, 3).padStart(7)}  ${fmt(f.share * 100, 1).padStart(5)} %  ${f.frame}`,
      );
  }
}

const TOP_CONCURRENCY = CONCURRENCIES[CONCURRENCIES.length - 1] as number;

/**
 * The same probes and the Stripe phase at the top concurrency under the other runner, in the same run:
 * what `wrangler dev`'s proxy adds (or what Miniflare leaves out), measured rather than assumed.
 */
async function otherRunner(runner: WorkerRunner, guards: GuardLayout, events: number, workerPort: number) {
  const stack = await startBenchStack({
    workerPort,
    runner,
    label: "bench_other",
    vars: GUARD_LAYOUT_VARS[guards],
  });
  const pool = stack.databaseUrl ? new pg.Pool({ connectionString: stack.databaseUrl, max: 2 }) : null;
  pool?.on("error", () => undefined);
  try {
    await seedBenchPackages(stack);
    for (const provider of ["stripe", "wechatpay"] as const) await probe(stack, provider, WARM_UP_EVENTS);
    const probes: Probes = {
      stripe: await probe(stack, "stripe"),
      wechatpay: await probe(stack, "wechatpay"),
    };
    const stripe = await webhookPhase(stack, pool, guards, "stripe", TOP_CONCURRENCY, events);
    return { runner, guards, probes, phases: [stripe] };
  } finally {
    await pool?.end();
    await stack.stop();
  }
}

async function seedBenchPackages(stack: BenchStack): Promise<void> {
  await stack.standIn.query(
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ('bench_usd', 'bench', 1999, 'USD', 100, true), ('bench_cny', 'bench', 9900, 'CNY', 100, true)
     on conflict (id) do nothing`,
  );
}

interface LayoutRun {
  guards: GuardLayout;
  probes: Probes;
  workerProfile: Awaited<ReturnType<typeof profileWorkerSteps>>;
  phases: PhaseResult[];
  storm: Awaited<ReturnType<typeof storm>>;
}

/**
 * One guard layout on a stack and database of its own: probes, profile, every phase, the storm. The
 * database-only and crypto-only figures do not depend on the layout and are taken with the first.
 */
async function runLayout(
  guards: GuardLayout,
  runner: WorkerRunner,
  events: number,
  ports: ReturnType<typeof portsFromEnv>,
  inspectorPort: number,
  layoutFree: boolean,
) {
  const stack = await startBenchStack({
    ...ports,
    inspectorPort,
    runner,
    label: "bench",
    vars: GUARD_LAYOUT_VARS[guards],
  });
  const pool = stack.databaseUrl ? new pg.Pool({ connectionString: stack.databaseUrl, max: 2 }) : null;
  // An idle connection ended by the scratch database's drop at the end is not an error of the run.
  pool?.on("error", () => undefined);
  try {
    await seedBenchPackages(stack);
    const postgres = pool ? ((await pool.query("select version()")).rows[0]?.version as string) : null;
    // Warm the isolate and the Durable Object namespace so the first phase does not pay for start-up.
    for (const provider of ["stripe", "wechatpay"] as const) await probe(stack, provider, WARM_UP_EVENTS);
    const probes: Probes = {
      stripe: await probe(stack, "stripe"),
      wechatpay: await probe(stack, "wechatpay"),
    };
    const workerProfile = await profileWorkerSteps(stack, inspectorPort);
    const dbCost = pool && layoutFree ? await dbCostPerNewEvent(stack) : null;
    const phases: PhaseResult[] = [];
    for (const provider of ["stripe", "wechatpay"] as const) {
      for (const concurrency of CONCURRENCIES) {
        phases.push(await webhookPhase(stack, pool, guards, provider, concurrency, events));
        console.log(`  done: ${guards} guards, ${provider} at concurrency ${concurrency}`);
      }
    }
    const stormResult = await storm(stack);
    const crypto = layoutFree ? await measureCrypto(stack) : null;
    const run: LayoutRun = { guards, probes, workerProfile, phases, storm: stormResult };
    return { run, postgres, dbCost, crypto };
  } finally {
    await pool?.end();
    await stack.stop();
  }
}

function printLayout(run: LayoutRun): void {
  console.log(`\n=== ${run.guards} guards`);
  printTable(run.phases);
  printDetails(run.probes, run.storm);
  printProfile(run.workerProfile);
}

async function main(): Promise<void> {
  const events = eventsArg();
  const layouts = guardsArg();
  const stopTimer = setTimeout(() => {
    console.error(`bench: stopped after ${RUN_TIME_MAX_MS / 60_000} min (RUN_TIME_MAX_MS)`);
    process.exit(2);
  }, RUN_TIME_MAX_MS);
  stopTimer.unref();
  const ports = portsFromEnv(WORKER_PORT_DEFAULT);
  const inspectorPort = Number(process.env.PAYGUARD_INSPECTOR_PORT) || ports.workerPort + 1;
  const runner = runnerArg();
  const runs: LayoutRun[] = [];
  let shared: Omit<Awaited<ReturnType<typeof runLayout>>, "run"> | null = null;
  for (const guards of layouts) {
    const { run, ...rest } = await runLayout(guards, runner, events, ports, inspectorPort, shared === null);
    shared ??= rest;
    runs.push(run);
  }
  if (!shared) throw new Error("no guard layout ran");
  for (const run of runs) printLayout(run);
  if (shared.crypto) printCrypto(shared.crypto);
  const { dbCost } = shared;
  if (dbCost)
    console.log(
      `\ndatabase cost of a new event, one connection, ${dbCost.events} each: settle_event ${fmt(dbCost.settleEventMs, 2)} ms (Postgres CPU ${fmt(dbCost.settleEventPostgresCpuMs, 2)}) vs apply_payment ${fmt(dbCost.applyPaymentMs, 2)} ms (${fmt(dbCost.applyPaymentPostgresCpuMs, 2)}): ${fmt(dbCost.ratio, 2)}x`,
    );
  const result = {
    command: `npm run bench:webhooks -- --events ${events} --runner ${runner} --guards ${layouts.length > 1 ? "both" : layouts[0]}`,
    runner,
    machine: machineInfo(shared.postgres),
    events,
    duplicateShare: DUPLICATE_SHARE,
    layouts: runs,
    cryptoMicrosPerEvent: shared.crypto,
    dbCostPerNewEvent: dbCost,
  };
  if (runs.some((run) => run.storm.grants !== 1)) process.exitCode = 1;
  const resultsUrl = new URL("./results/webhooks.json", import.meta.url);
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await writeFile(resultsUrl, `${JSON.stringify(result, null, 2)}\n`);
  const other = await otherRunner(
    runner === "miniflare" ? "wrangler" : "miniflare",
    layouts[0] as GuardLayout,
    events,
    ports.workerPort,
  );
  console.log(`\nthe same under ${other.runner} (${other.guards} guards):`);
  printTable(other.phases);
  for (const [provider, p] of Object.entries(other.probes))
    for (const [kind, m] of Object.entries(p))
      console.log(
        `  ${provider.padEnd(9)} ${kind.padEnd(9)} ${fmt(m.meanLatencyMs, 2)} ms, cpu workerd ${fmt(m.workerdCpuMs, 2)} ${other.runner} ${fmt(m.wranglerProxyCpuMs, 2)} standin+sbx ${fmt(m.standInAndSandboxCpuMs, 2)} ms`,
      );
  await writeFile(resultsUrl, `${JSON.stringify({ ...result, otherRunner: other }, null, 2)}\n`);
  console.log("wrote bench/results/webhooks.json");
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
