/**
 * `npm run bench`: the Stripe webhook path end to end (wrangler dev → OrderGuard → stand-in → ledger),
 * measured on this machine in one run so the figures can be read as ratios:
 *   first deliveries (verify + inbox + settle + grant) vs redeliveries of the same events (inbox duplicate),
 *   and one order hit by a storm of concurrent duplicates (must still credit once).
 * Uses PGlite unless DATABASE_URL points at a Postgres server (a scratch database is created there).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "../dev/local-stack.ts";

const ORDERS = 150;
const CONCURRENCY = 8;
const STORM_DELIVERIES = 50;
const BENCH_WORKER_PORT = 8797;

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

async function timed(label: string, count: number, run: () => Promise<void>) {
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  return { label, count, ms, perSecond: (count / ms) * 1000 };
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "payguard-bench-"));
  const stack = await startLocalStack({
    workerPort: BENCH_WORKER_PORT,
    jwtSecret: randomBytes(32).toString("hex"),
    adminToken: randomBytes(24).toString("hex"),
    envFile: join(scratch, "bench.env"),
    wranglerArgs: ["--persist-to", join(scratch, "state")],
  });
  try {
    await stack.standIn.query(
      `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
       values ('bench_100', 'bench', 1999, 'USD', 100, true) on conflict (id) do nothing`,
    );
    const post = async (delivery: Delivery) => {
      const response = await fetch(`${stack.workerUrl}/webhooks/stripe`, { method: "POST", ...delivery });
      if (response.status !== 200)
        throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    };
    const control = async (path: string, body: unknown) =>
      (await (
        await fetch(`${stack.sandbox.url}/_control/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).json()) as { deliveries: Delivery[] };

    const deliveries: Delivery[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const [row] = await stack.standIn.query<{ order: { id: string } }>(
        "select payguard.create_order($1::uuid, 'bench_100', 'stripe', now()) as order",
        [randomUUID()],
      );
      const answer = await control("stripe/pay", {
        orderId: row?.order.id,
        amountMinor: 1999,
        currency: "usd",
        deliver: false,
      });
      deliveries.push(...answer.deliveries);
    }
    const first = await timed("first delivery (verify, inbox, settle, grant)", deliveries.length, () =>
      inBatches(deliveries, CONCURRENCY, post),
    );
    const again = await timed("redelivery of the same events (inbox duplicate)", deliveries.length, () =>
      inBatches(deliveries, CONCURRENCY, post),
    );
    const stormOrder = `ord_bench_storm_${randomBytes(4).toString("hex")}`;
    const stormUser = randomUUID();
    const storm = await control("stripe/pay", {
      orderId: stormOrder,
      amountMinor: 1999,
      currency: "usd",
      metadata: { user_id: stormUser, package_id: "bench_100" },
      deliver: false,
    });
    const single = storm.deliveries[0] as Delivery;
    const stormRun = await timed(`${STORM_DELIVERIES} concurrent copies of one event`, STORM_DELIVERIES, () =>
      Promise.all(Array.from({ length: STORM_DELIVERIES }, () => post(single))).then(() => undefined),
    );
    const [grants] = await stack.standIn.query<{ n: number }>(
      "select count(*)::int as n from payguard.credit_ledger where order_id = $1",
      [stormOrder],
    );
    console.log("\npayguard webhook benchmark (one run, this machine)");
    for (const row of [first, again, stormRun]) {
      console.log(
        `  ${row.label.padEnd(52)} ${String(row.count).padStart(4)} in ${row.ms.toFixed(0).padStart(6)} ms  ${row.perSecond.toFixed(1).padStart(7)}/s`,
      );
    }
    console.log(
      `  duplicate vs first-delivery throughput ratio: ${(again.perSecond / first.perSecond).toFixed(2)}x`,
    );
    console.log(`  grants for the storm order: ${grants?.n} (must be 1)`);
    if (grants?.n !== 1) process.exitCode = 1;
  } finally {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exit(1);
});
