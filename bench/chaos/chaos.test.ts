/**
 * The short chaos run `npm test` includes: the whole system (wrangler dev, stand-in, sandbox, the crons)
 * under the `default` fault mix (dropped, duplicated, reordered and delayed deliveries, WeChat refund
 * notifications dropped and duplicated, provider 5xx / 429 / timeouts, database failures and lost
 * connections, overlapping crons) for 200 orders on a fixed seed, with second refunds, refunds failing
 * after success, disputes won, lost and left open, async and free payments, and the next morning's WeChat
 * bill; a tenth of them are subscriptions instead, renewed, retried, upgraded, refunded, disputed and
 * canceled. Every invariant must hold. The long run is `npm run chaos`; see the README.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchStack, startBenchStack } from "../lib/stack.ts";
import { CHAOS_WORKER_VARS, simulate } from "./simulate.ts";
import type { SubscriptionCounts } from "./subscriptions.ts";

const SEED = 11;
const ORDERS = 200;
const RUN_TIMEOUT_MS = 240_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("chaos: the whole system under the default fault mix", () => {
  let stack: BenchStack;
  beforeAll(async () => {
    stack = await startBenchStack({
      workerPort: await freePort(),
      seed: SEED,
      label: "chaos_test",
      vars: CHAOS_WORKER_VARS,
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    `${ORDERS} orders, seed ${SEED}: every invariant holds`,
    async () => {
      const result = await simulate(stack, { seed: SEED, orders: ORDERS, faults: "default" });
      const failed = result.report.checks.filter((check) => check.violations.length > 0);
      // A failure explains itself: each violating order's timeline (sandbox, deliveries, inbox, ledger, incidents).
      const explained = result.violationReport?.explained.map(({ orderId, violations, timeline }) => ({
        orderId,
        violations,
        timeline,
      }));
      expect(failed, JSON.stringify({ failed, explained }, null, 2)).toEqual([]);
      // The run was not vacuous: the faults fired and each kind of order was checked.
      expect(result.faults.injectedDatabaseFailures).toBeGreaterThan(0);
      expect(result.faults.lostDatabaseConnections).toBeGreaterThan(0);
      expect(Object.keys(result.faults.deliveryFaults as object)).toEqual(
        expect.arrayContaining(["drop", "duplicate", "reorder", "delay"]),
      );
      for (const check of result.report.checks) expect(check.checked, check.name).toBeGreaterThan(0);
      expect(result.faults.refundsFailedAfterSuccess).toBeGreaterThan(0);
      expect(result.faults.disputesWon).toBeGreaterThan(0);
      expect(result.faults.disputesLost).toBeGreaterThan(0);
      // Subscriptions renewed through each of their fates.
      const subscriptions = result.faults.subscriptions as SubscriptionCounts;
      for (const fate of [
        "declinedRenewals",
        "paidOnRetry",
        "leftUnpaid",
        "upgrades",
        "refunds",
        "disputesWon",
        "canceled",
      ] as const)
        expect(subscriptions[fate], fate).toBeGreaterThan(0);
      // The next morning's bill ran for every day of the run, and no refund it found was left unsettled.
      for (const bill of result.faults.wechatBills as Array<{ status: string | null }>)
        expect(bill.status).toBe("ok");
    },
    RUN_TIMEOUT_MS,
  );
});
