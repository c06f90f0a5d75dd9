/**
 * `npm run bench:reconcile -- [--orders 100000] [--seed 11]`: a reconcile backlog of pending WeChat Pay
 * orders, 30 % of them (drawn from the seed) paid at WeChat with every notification dropped, worked off
 * the way a deployment does: a cron tick every 5 minutes, each fanning out queue shares that run at most
 * QUEUE_MAX_CONCURRENCY at once (wrangler.toml), every invocation taking its provider tokens from the one
 * deployment-wide provider budget (src/budget/). The reconcile code runs here, in Node, with the real
 * WeChat client (signed requests, verified answers) against the sandbox in a child process; the ledger,
 * the OrderGuard, the queue and the budget's Durable Object are in memory, so the CPU figure is payguard's
 * own work per order (signing, verifying, planning), not the database's. Time is virtual
 * (bench/lib/virtual-clock.ts): provider pacing and ticks take no real time, requests do.
 *
 * Reports per invocation: orders checked and settled, subrequests against Cloudflare's 10,000, provider
 * calls per order, paced wall time, CPU; per tick: provider calls per order checked; and the ticks until
 * every paid order was credited.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { mulberry32 } from "../dev/sandbox/rng.ts";
import { BACKGROUND_WAIT_MS_MAX } from "../src/budget/budget.ts";
import type { Deps } from "../src/deps.ts";
import { loadConfig } from "../src/env.ts";
import type { AlertSink, LedgerStore } from "../src/ledger/ports.ts";
import { ok } from "../src/ledger/result.ts";
import type { Order, PaymentFact } from "../src/ledger/types.ts";
import { runFanoutShare } from "../src/reconcile/fanout.ts";
import { DEFAULT_TICK_LIMITS } from "../src/reconcile/limits.ts";
import { runReconcile } from "../src/reconcile/reconcile.ts";
import { machineInfo } from "./lib/machine.ts";
import { memoryBuckets } from "./lib/memory-budget.ts";
import { createVirtualClock, type VirtualClock } from "./lib/virtual-clock.ts";

const ORDERS_DEFAULT = 100_000;
const PAID_SHARE = 0.3;
const SANDBOX_PORT = Number(process.env.PAYGUARD_SANDBOX_PORT ?? 12123);
const CLOUDFLARE_SUBREQUESTS_MAX = 10_000;
const CLOUDFLARE_CPU_MS_MAX = 30_000;
/** As `max_concurrency` of the reconcile queue's consumer in wrangler.toml. */
const QUEUE_MAX_CONCURRENCY = 4;
const TICK_MS = 5 * 60_000;
/** Two hours of ticks at most. */
const TICKS_MAX = 24;
/** The orders stay payable for the whole run: the bench measures checking, not expiry. */
const ORDER_TTL_MS = 24 * 3_600_000;
/** As `record_check`'s schedule for an unpaid answer (supabase/migrations, `backoff_seconds`). */
const BACKOFF_S = [60, 120, 300, 600, 1200, 1800];

interface Described {
  url: string;
  wechat: Record<string, string>;
}

async function startSandbox() {
  const child = spawn(
    process.execPath,
    ["dev/sandbox/cli.ts", "--port", String(SANDBOX_PORT), "--seed", "11"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout }).once("line", resolve),
  );
  return { described: JSON.parse(line) as Described, stop: () => child.kill("SIGTERM") };
}

async function control(base: string, path: string, body: unknown) {
  const response = await fetch(`${base}/_control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
}

/** What one invocation spent. */
interface Counters {
  subrequests: number;
  settled: number;
  queued: number;
}

/** The pending orders with a min-heap on next_check_at, so leasing 200 of 100,000 costs little CPU. */
function dueQueue(orders: Map<string, Order>) {
  const heap: Array<{ atMs: number; id: string }> = [];
  const less = (a: number, b: number) => (heap[a]?.atMs ?? 0) < (heap[b]?.atMs ?? 0);
  const swap = (a: number, b: number) => {
    [heap[a], heap[b]] = [heap[b] as (typeof heap)[0], heap[a] as (typeof heap)[0]];
  };
  const push = (id: string, atMs: number) => {
    heap.push({ id, atMs });
    for (let i = heap.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const smallest = [2 * i + 1, 2 * i + 2].filter((c) => c < heap.length && less(c, i));
        const child =
          smallest.length === 2
            ? less(smallest[1] as number, smallest[0] as number)
              ? smallest[1]
              : smallest[0]
            : smallest[0];
        if (child === undefined) break;
        swap(i, child);
        i = child;
      }
    }
    return top;
  };
  for (const order of orders.values()) push(order.id, order.nextCheckAtMs ?? 0);
  /** Due pending orders, soonest first; a stale heap entry (the order moved since) is skipped. */
  const lease = (limit: number, nowMs: number, leaseMs: number): Order[] => {
    const leased: Order[] = [];
    while (leased.length < limit && heap.length > 0 && (heap[0]?.atMs ?? 0) <= nowMs) {
      const entry = pop();
      const order = entry ? orders.get(entry.id) : undefined;
      if (!entry || !order || order.status !== "pending" || order.nextCheckAtMs !== entry.atMs) continue;
      order.nextCheckAtMs = nowMs + leaseMs;
      push(order.id, order.nextCheckAtMs);
      leased.push({ ...order });
    }
    return leased;
  };
  const reschedule = (order: Order, atMs: number) => {
    order.nextCheckAtMs = atMs;
    push(order.id, atMs);
  };
  return { lease, reschedule };
}

/** The ledger's reconcile functions in memory, one subrequest per call, as the SQL functions behave. */
function memoryLedger(orders: Map<string, Order>, due: ReturnType<typeof dueQueue>, counters: Counters) {
  const store = {
    async leaseDueOrders(input: { limit: number; leaseSeconds: number; nowMs: number }) {
      counters.subrequests += 1;
      return ok(due.lease(Math.min(input.limit, 1000), input.nowMs, input.leaseSeconds * 1000));
    },
    async recordCheck(input: { orderId: string; nowMs: number; delaySeconds?: number }) {
      counters.subrequests += 1;
      const order = orders.get(input.orderId);
      if (!order) return ok(null);
      const delayS = input.delaySeconds ?? BACKOFF_S[Math.min(order.checkAttempts, BACKOFF_S.length - 1)];
      order.checkAttempts += 1;
      due.reschedule(order, input.nowMs + (delayS as number) * 1000);
      return ok({ ...order });
    },
    async noteCheck(input: { orderId: string; count?: boolean }) {
      counters.subrequests += 1;
      const order = orders.get(input.orderId);
      if (order && input.count) order.checkAttempts += 1;
      return ok(order ? { ...order } : null);
    },
    async recordJobRun() {
      counters.subrequests += 1;
      return ok(undefined);
    },
  };
  return store as unknown as LedgerStore;
}

/** The Worker env one invocation sees: the OrderGuard settles in memory, the queue collects shares. */
function memoryEnv(
  orders: Map<string, Order>,
  counters: Counters,
  creditedAt: Map<string, number>,
  clock: VirtualClock,
  enqueue: (messages: number) => void,
) {
  const guard = {
    async settle(fact: PaymentFact) {
      counters.subrequests += 1; // the Durable Object call; its ledger RPC is the object's own subrequest
      const order = fact.orderId ? orders.get(fact.orderId) : undefined;
      if (fact.kind === "paid" && order?.status === "pending") {
        order.status = "fulfilled";
        counters.settled += 1;
        creditedAt.set(order.id, clock.now());
        return ok({ orderId: order.id, outcome: "fulfilled", status: "fulfilled" });
      }
      return ok({ orderId: fact.orderId, outcome: "noop", status: order?.status ?? null });
    },
  };
  return {
    ORDER_GUARD: { idFromName: (name: string) => name, get: () => guard },
    RECONCILE_QUEUE: {
      async sendBatch(messages: unknown[]) {
        counters.subrequests += 1;
        counters.queued += messages.length;
        enqueue(messages.length);
      },
    },
  } as unknown as Env;
}

function wechatVars(described: Described) {
  const { wechat } = described;
  return {
    PUBLIC_BASE_URL: "https://payguard.example.com",
    SUPABASE_URL: "https://bench.invalid",
    SUPABASE_SECRET_KEY: "sb_secret_bench",
    ADMIN_TOKEN: "bench-admin-token-0123456789abcdef",
    PROVIDERS: "wechatpay",
    WECHATPAY_API_BASE: described.url,
    WECHATPAY_MCHID: wechat.mchid,
    WECHATPAY_APPID: wechat.appid,
    WECHATPAY_MERCHANT_SERIAL: wechat.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: wechat.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: wechat.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: wechat.publicKeyId,
    WECHATPAY_PUBLIC_KEY: wechat.publicKeyPem,
    WECHATPAY_PLATFORM_CERTS: wechat.platformCertsPem,
  };
}

/**
 * Marks every request and every WebCrypto job (the WeChat client signs and verifies on the thread pool)
 * as real work in flight, so the virtual clock moves only while all of it waits; answers how to undo it.
 */
function trackRealWork(clock: VirtualClock): () => void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => clock.track(realFetch(input, init));
  const subtle = crypto.subtle as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const methods = ["sign", "verify", "encrypt", "decrypt", "digest", "importKey"];
  const originals = methods.map((method) => subtle[method] as (...args: unknown[]) => Promise<unknown>);
  methods.forEach((method, i) => {
    const original = (originals[i] as (...args: unknown[]) => Promise<unknown>).bind(crypto.subtle);
    subtle[method] = (...args) => clock.track(original(...args));
  });
  return () => {
    globalThis.fetch = realFetch;
    methods.forEach((method, i) => {
      delete subtle[method];
      if (subtle[method] !== originals[i]) subtle[method] = originals[i] as never;
    });
  };
}

interface InvocationRow {
  invocation: string;
  tick: number;
  checked: number;
  settled: number;
  provider_calls: number;
  provider_calls_per_order: number;
  subrequests: number;
  paced_wall_s: number;
  stopped_by: string;
}

async function main() {
  const { values } = parseArgs({ options: { orders: { type: "string" }, seed: { type: "string" } } });
  const orderCount = Number(values.orders ?? ORDERS_DEFAULT);
  const seed = Number(values.seed ?? 11);
  const machine = machineInfo("none: the ledger is in memory");
  const sandbox = await startSandbox();
  try {
    const base = sandbox.described.url;
    const vars = wechatVars(sandbox.described);
    const config = loadConfig(vars);
    const clock = createVirtualClock(Date.now());
    const startMs = clock.now();
    const orders = new Map<string, Order>();
    for (let i = 0; i < orderCount; i += 1) {
      const id = `ord_bench_${String(i).padStart(7, "0")}`;
      orders.set(id, {
        id,
        userId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        packageId: "credits_cny",
        provider: "wechatpay",
        status: "pending",
        amountMinor: 990,
        currency: "CNY",
        credits: 100,
        discountMinor: 0,
        providerRef: null,
        paymentRef: null,
        createdAtMs: startMs - 120_000,
        expiresAtMs: startMs + ORDER_TTL_MS,
        nextCheckAtMs: startMs - 1,
        checkAttempts: 0,
      });
    }
    const draw = mulberry32(seed);
    const paid = [...orders.keys()].filter(() => draw() < PAID_SHARE);
    for (let i = 0; i < paid.length; i += 100) {
      await Promise.all(
        paid
          .slice(i, i + 100)
          .map((orderId) => control(base, "wechat/pay", { orderId, amountMinor: 990, deliver: false })),
      );
    }
    await control(base, "reset", {});
    console.log(`${orderCount} due orders, ${paid.length} paid at WeChat with notifications dropped`);

    const due = dueQueue(orders);
    const buckets = memoryBuckets(clock);
    const creditedAt = new Map<string, number>();
    const rows: InvocationRow[] = [];
    const messages: number[] = [];
    let running = 0;
    let shares = 0;
    let tick = 0;
    const inFlight = new Set<Promise<void>>();
    const untrack = trackRealWork(clock);

    const invoke = (name: string, job: typeof runReconcile) => {
      const counters: Counters = { subrequests: 0, settled: 0, queued: 0 };
      const deps = {
        config,
        store: memoryLedger(orders, due, counters),
        alerts: {} as AlertSink,
        providerBudgets: buckets,
      } as unknown as Deps;
      const env = memoryEnv(orders, counters, creditedAt, clock, (n) => {
        for (let i = 0; i < n; i += 1) messages.push(tick);
        pump();
      });
      const startedMs = clock.now();
      const ownTick = tick;
      const run = job(env, deps, clock.now(), DEFAULT_TICK_LIMITS, clock).then((outcome) => {
        const detail = outcome.detail as Record<string, unknown>;
        const calls = (detail.calls as Record<string, { calls: number; budget_calls: number }>).wechatpay;
        const checked = Number(detail.scanned);
        const providerCalls = calls?.calls ?? 0;
        rows.push({
          invocation: name,
          tick: ownTick,
          checked,
          settled: counters.settled,
          provider_calls: providerCalls,
          provider_calls_per_order: checked ? Number((providerCalls / checked).toFixed(2)) : 0,
          subrequests: counters.subrequests + providerCalls + (calls?.budget_calls ?? 0),
          paced_wall_s: Math.round((clock.now() - startedMs) / 1000),
          stopped_by: String(detail.stopped_by),
        });
      });
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
      return run;
    };
    // Once every paid order is credited the run is over: shares in flight finish, no new one starts.
    let over = false;
    const pump = () => {
      while (!over && running < QUEUE_MAX_CONCURRENCY && messages.length > 0) {
        messages.shift();
        running += 1;
        shares += 1;
        void invoke(`queue share ${shares}`, runFanoutShare).finally(() => {
          running -= 1;
          pump();
        });
      }
    };

    const cpuBefore = process.cpuUsage();
    const realStarted = performance.now();
    const allCredited = () => paid.every((id) => creditedAt.has(id));
    await clock.run(
      (async () => {
        for (tick = 1; tick <= TICKS_MAX && !allCredited(); tick += 1) {
          const tickAtMs = startMs + (tick - 1) * TICK_MS;
          if (tickAtMs > clock.now()) await clock.sleep(tickAtMs - clock.now());
          await invoke(`cron tick ${tick}`, runReconcile);
          while (!allCredited() && (inFlight.size > 0 || messages.length > 0)) {
            const nextTickMs = startMs + tick * TICK_MS;
            if (clock.now() >= nextTickMs) break;
            await Promise.race([
              ...inFlight,
              clock.sleep(Math.min(BACKGROUND_WAIT_MS_MAX, nextTickMs - clock.now())),
            ]);
          }
        }
        over = true;
        while (inFlight.size > 0) await Promise.race(inFlight);
      })(),
    );
    untrack();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const checkedTotal = rows.reduce((sum, row) => sum + row.checked, 0);
    const cpuMsPerOrder = checkedTotal ? cpuMs / checkedTotal : 0;

    const ticks = [...new Set(rows.map((row) => row.tick))]
      .sort((a, b) => a - b)
      .map((t) => {
        const of = rows.filter((row) => row.tick === t);
        const checked = of.reduce((sum, row) => sum + row.checked, 0);
        const calls = of.reduce((sum, row) => sum + row.provider_calls, 0);
        return {
          tick: t,
          invocations: of.length,
          checked,
          settled: of.reduce((sum, row) => sum + row.settled, 0),
          provider_calls: calls,
          provider_calls_per_order: checked ? Number((calls / checked).toFixed(2)) : 0,
          credited_by_end: [...creditedAt.values()].filter((at) => at < startMs + t * TICK_MS).length,
        };
      });
    const lastCreditMs = Math.max(...creditedAt.values());
    const credited = creditedAt.size;
    const ticksUntilCredited =
      credited === paid.length ? Math.ceil((lastCreditMs - startMs) / TICK_MS) : null;
    const invocations = rows.map((row) => ({
      ...row,
      subrequest_share: Number((row.subrequests / CLOUDFLARE_SUBREQUESTS_MAX).toFixed(2)),
      cpu_ms: Math.round(row.checked * cpuMsPerOrder),
    }));
    console.table(invocations);
    console.table(ticks);
    const peakSubrequests = Math.max(...rows.map((row) => row.subrequests));
    const peakCpuMs = Math.max(...invocations.map((row) => row.cpu_ms));
    console.log(
      `credited ${credited}/${paid.length}; ticks until every paid order was credited: ${ticksUntilCredited ?? "not within the run"}; ` +
        `${rows.length} invocations; busiest invocation ${peakSubrequests} subrequests (limit ${CLOUDFLARE_SUBREQUESTS_MAX}), ` +
        `about ${peakCpuMs} ms CPU (limit ${CLOUDFLARE_CPU_MS_MAX}); CPU ${cpuMsPerOrder.toFixed(2)} ms per order checked; ` +
        `real time ${Math.round((performance.now() - realStarted) / 1000)} s`,
    );
    await mkdir("bench/results", { recursive: true });
    await writeFile(
      "bench/results/reconcile.json",
      `${JSON.stringify(
        {
          command: `npm run bench:reconcile -- --orders ${orderCount} --seed ${seed}`,
          machine,
          orders: orderCount,
          paid: paid.length,
          tick_limits: DEFAULT_TICK_LIMITS,
          provider_rate_per_s: config.budget.wechatpay.perSecond,
          queue_max_concurrency: QUEUE_MAX_CONCURRENCY,
          credited,
          ticks_until_credited: ticksUntilCredited,
          cpu_ms_per_order: Number(cpuMsPerOrder.toFixed(3)),
          cpu_note:
            "this process's CPU over the run, shared by the orders checked; an invocation's CPU is its share",
          ticks,
          invocations,
        },
        null,
        2,
      )}\n`,
    );
    if (credited !== paid.length) process.exitCode = 1;
  } finally {
    sandbox.stop();
  }
}

await main();
