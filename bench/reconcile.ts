/**
 * `npm run bench:reconcile`: one reconcile backlog of 10,000 due WeChat Pay orders, 30 % of them paid at
 * WeChat with every notification dropped. The reconcile code runs here, in Node, with the real WeChat
 * client (signed requests, verified answers) against the sandbox in a child process; the ledger and the
 * OrderGuard are in-memory counters, so the CPU figure is payguard's own work per order (signing,
 * verifying, planning), not the database's. Provider pacing runs on a virtual clock: the wall time shown
 * is what the named rate limits would take, without waiting for it.
 * Reports per invocation (the cron tick, then the queue shares it fans out): orders checked and settled,
 * subrequests against Cloudflare's 10,000, provider calls per order, CPU ms per 1,000 orders.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { createInterface } from "node:readline";
import type { WaitClock } from "../src/budget/budget.ts";
import type { Deps } from "../src/deps.ts";
import { loadConfig } from "../src/env.ts";
import type { AlertSink, LedgerStore } from "../src/ledger/ports.ts";
import { ok } from "../src/ledger/result.ts";
import type { Order, PaymentFact } from "../src/ledger/types.ts";
import { runFanoutShare } from "../src/reconcile/fanout.ts";
import { DEFAULT_TICK_LIMITS } from "../src/reconcile/limits.ts";

const ORDERS = 10_000;
const PAID_SHARE = 0.3;
const SANDBOX_PORT = Number(process.env.PAYGUARD_SANDBOX_PORT ?? 12123);
const CLOUDFLARE_SUBREQUESTS_MAX = 10_000;
const INVOCATIONS_MAX = 20;

interface Described {
  url: string;
  stripe: { secretKey: string; webhookSecret: string };
  wechat: Record<string, string>;
  alerts: Record<string, string>;
}

async function startSandbox() {
  const child = spawn(
    process.execPath,
    ["dev/sandbox/cli.ts", "--port", String(SANDBOX_PORT), "--seed", "11"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [line] = await new Promise<string[]>((resolve) =>
    createInterface({ input: child.stdout }).once("line", (l) => resolve([l])),
  );
  return { described: JSON.parse(line ?? "{}") as Described, stop: () => child.kill("SIGTERM") };
}

async function control(base: string, path: string, body?: unknown) {
  const response = await fetch(`${base}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json() as Promise<Record<string, unknown>>;
}

/** The ledger as counters: leases and checks like the SQL functions, one subrequest per call. */
function memoryLedger(orders: Map<string, Order>, counters: { subrequests: number }) {
  const store = {
    async leaseDueOrders({
      limit,
      leaseSeconds,
      nowMs,
    }: {
      limit: number;
      leaseSeconds: number;
      nowMs: number;
    }) {
      counters.subrequests += 1;
      const due = [...orders.values()].filter(
        (o) => o.status === "pending" && (o.nextCheckAtMs ?? 0) <= nowMs,
      );
      const leased = due.slice(0, Math.min(limit, 1000));
      for (const order of leased) order.nextCheckAtMs = nowMs + leaseSeconds * 1000;
      return ok(leased.map((order) => ({ ...order })));
    },
    async recordCheck({ orderId, nowMs }: { orderId: string; nowMs: number }) {
      counters.subrequests += 1;
      const order = orders.get(orderId);
      if (order)
        Object.assign(order, { checkAttempts: order.checkAttempts + 1, nextCheckAtMs: nowMs + 60_000 });
      return ok(order ?? null);
    },
    async recordJobRun() {
      return ok(undefined);
    },
  };
  return store as unknown as LedgerStore;
}

function memoryEnv(
  orders: Map<string, Order>,
  counters: { subrequests: number; settled: number; queued: number },
) {
  const guard = {
    async settle(fact: PaymentFact) {
      counters.subrequests += 2; // the Durable Object call and its ledger RPC
      const order = fact.orderId ? orders.get(fact.orderId) : undefined;
      if (fact.kind === "paid" && order?.status === "pending") {
        order.status = "fulfilled";
        counters.settled += 1;
        return ok({ orderId: fact.orderId, outcome: "fulfilled", status: "fulfilled" });
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
      },
    },
  } as unknown as Env;
}

/** Pacing without waiting: sleeping moves the virtual clock. */
function virtualClock(): WaitClock {
  let nowMs = Date.now();
  return {
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
    },
  };
}

async function main() {
  const sandbox = await startSandbox();
  try {
    const base = sandbox.described.url;
    const vars = {
      PUBLIC_BASE_URL: "https://payguard.example.com",
      SUPABASE_URL: "https://bench.invalid",
      SUPABASE_SECRET_KEY: "sb_secret_bench",
      ADMIN_TOKEN: "bench-admin-token-0123456789abcdef",
      PROVIDERS: "wechatpay",
      WECHATPAY_API_BASE: base,
      WECHATPAY_MCHID: sandbox.described.wechat.mchid,
      WECHATPAY_APPID: sandbox.described.wechat.appid,
      WECHATPAY_MERCHANT_SERIAL: sandbox.described.wechat.merchantSerial,
      WECHATPAY_MERCHANT_PRIVATE_KEY: sandbox.described.wechat.merchantPrivateKeyPem,
      WECHATPAY_APIV3_KEY: sandbox.described.wechat.apiV3Key,
      WECHATPAY_PUBLIC_KEY_ID: sandbox.described.wechat.publicKeyId,
      WECHATPAY_PUBLIC_KEY: sandbox.described.wechat.publicKeyPem,
      WECHATPAY_PLATFORM_CERTS: sandbox.described.wechat.platformCertsPem,
    };
    const config = loadConfig(vars);
    const clock = virtualClock();
    const orders = new Map<string, Order>();
    for (let i = 0; i < ORDERS; i += 1) {
      const id = `ord_bench_${i}_${randomUUID().slice(0, 8)}`;
      orders.set(id, {
        id,
        userId: randomUUID(),
        packageId: "credits_cny",
        provider: "wechatpay",
        status: "pending",
        amountMinor: 990,
        currency: "CNY",
        credits: 100,
        discountMinor: 0,
        providerRef: null,
        paymentRef: null,
        createdAtMs: clock.now() - 120_000,
        expiresAtMs: clock.now() + 1_800_000,
        nextCheckAtMs: clock.now() - 1,
        checkAttempts: 0,
      });
    }
    const paid = [...orders.keys()].slice(0, Math.round(ORDERS * PAID_SHARE));
    for (let i = 0; i < paid.length; i += 50) {
      await Promise.all(
        paid
          .slice(i, i + 50)
          .map((orderId) => control(base, "wechat/pay", { orderId, amountMinor: 990, deliver: false })),
      );
    }
    await control(base, "reset", {});
    console.log(`${ORDERS} due orders, ${paid.length} paid at WeChat with notifications dropped`);

    // Every invocation belongs to the same 5-minute tick: the tick's time decides what is due.
    const tickMs = clock.now();
    const rows: Record<string, number | string>[] = [];
    let queued = 1;
    for (let invocation = 1; invocation <= INVOCATIONS_MAX && queued > 0; invocation += 1) {
      const counters = { subrequests: 0, settled: 0, queued: 0 };
      const deps = { config, store: memoryLedger(orders, counters), alerts: {} as AlertSink } as Deps;
      const cpuBefore = process.cpuUsage();
      const startedVirtual = clock.now();
      const outcome = await runFanoutShare(
        memoryEnv(orders, counters),
        deps,
        tickMs,
        DEFAULT_TICK_LIMITS,
        clock,
      );
      const cpu = process.cpuUsage(cpuBefore);
      const counts = (await control(base, "calls/counts")).counts as Record<string, number>;
      const calls = Object.values(counts).reduce((sum, n) => sum + n, 0);
      const scanned = Number(outcome.detail.scanned);
      const providerCalls = calls;
      rows.push({
        invocation: invocation === 1 ? "cron tick" : `queue share ${invocation - 1}`,
        checked: scanned,
        settled: counters.settled,
        subrequests: counters.subrequests + providerCalls,
        subrequest_limit: CLOUDFLARE_SUBREQUESTS_MAX,
        provider_calls_per_order: scanned ? Number((providerCalls / scanned).toFixed(2)) : 0,
        cpu_ms_per_1000_orders: scanned ? Math.round(((cpu.user + cpu.system) / 1000 / scanned) * 1000) : 0,
        paced_wall_s: Math.round((clock.now() - startedVirtual) / 1000),
        stopped_by: String(outcome.detail.stopped_by),
      });
      queued = counters.queued;
      await control(base, "reset", {});
    }
    console.table(rows);
    const left = [...orders.values()].filter((o) => o.status === "pending" && o.checkAttempts === 0).length;
    const settled = [...orders.values()].filter((o) => o.status === "fulfilled").length;
    console.log(`settled ${settled}/${paid.length}; never checked: ${left}; invocations: ${rows.length}`);
    await mkdir("bench/results", { recursive: true });
    await writeFile(
      "bench/results/reconcile.json",
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          machine: {
            cpus: cpus().length,
            cpu: cpus()[0]?.model,
            memory_gb: Math.round(totalmem() / 2 ** 30),
            node: process.version,
          },
          orders: ORDERS,
          paid: paid.length,
          limits: DEFAULT_TICK_LIMITS,
          invocations: rows,
          settled,
          never_checked: left,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    sandbox.stop();
  }
}

await main();
