/**
 * A Stripe backfill window holding more events than one run can apply must not starve the due orders:
 * the backfill spends at most its share of the run's subrequests and the due orders are checked with
 * the rest (found by a 10,000-order chaos run, where the re-listed window took the whole budget).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { DEFAULT_TICK_LIMITS } from "../../src/reconcile/limits.ts";
import { runReconcile } from "../../src/reconcile/reconcile.ts";
import { seedPackage, sql } from "../support/worker/harness.ts";
import {
  callsByOrder,
  dueOrders,
  eachOf,
  startStripeCursorNow,
  statuses,
} from "../support/worker/reconcile.ts";
import { stripeScenario } from "../support/worker/stripe.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

const SETUP_TIMEOUT_MS = 60_000;
/** One page of this many events reserves more subrequests than the whole run below has. */
const WINDOW_EVENTS = 80;
const SUBREQUESTS_MAX = 200;

describe("reconcile: a backfill window bigger than one run", () => {
  const wechatPaid: string[] = [];

  beforeAll(async () => {
    await seedPackage();
    await startStripeCursorNow();
    const stripePaid = await dueOrders("stripe", WINDOW_EVENTS);
    // Their webhooks were dropped; only the backfill's listing finds them, none is due for a check yet.
    await eachOf(stripePaid, (orderId) => stripeScenario("pay", { orderId }));
    await sql(
      "update payguard.payment_orders set next_check_at = now() + interval '1 hour' where id = any($1)",
      [stripePaid],
    );
    wechatPaid.push(...(await dueOrders("wechatpay", 3)));
    // Due before anything another suite left due in this database, so they are the first leased.
    await sql("update payguard.payment_orders set next_check_at = 'epoch' where id = any($1)", [wechatPaid]);
    await eachOf(wechatPaid, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
  }, SETUP_TIMEOUT_MS);

  it("still checks the due orders with the subrequests the backfill may not take", async () => {
    const outcome = await runReconcile(env, getDeps(env), Date.now(), {
      ...DEFAULT_TICK_LIMITS,
      subrequestsMax: SUBREQUESTS_MAX,
    });
    expect(outcome).toMatchObject({ status: "partial", detail: { backfill: { complete: false } } });
    // Other suites' leftover due orders may be scanned too: only this suite's orders are counted.
    expect((outcome.detail as { settled: number }).settled).toBeGreaterThanOrEqual(3);
    expect(await statuses(wechatPaid)).toEqual({ fulfilled: 3 });
    const queries = await callsByOrder(wechatPaid);
    expect(wechatPaid.map((id) => queries.get(id)?.filter((c) => c.method === "GET").length)).toEqual([
      1, 1, 1,
    ]);
  });
});
