/**
 * One provider budget for the whole deployment, measured where it matters: at the provider. Two
 * overlapping reconcile ticks, the queue shares they fan out and an operator's batch sync all run at once
 * against the sandbox with a small named rate (PROVIDER_REQUESTS_PER_SECOND), and no window of the calls
 * the sandbox recorded exceeds what the bucket allows; a 429 with Retry-After one of them meets keeps the
 * others off the provider until it has passed. The queue: a share that fails is retried, never acked, a
 * configuration error too; a dead-lettered share opens an incident, and a later share resolves it.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { busiestWindow } from "../../bench/lib/busiest-window.ts";
import { bucketLimit, callsAllowedIn, LEASE_AHEAD_MS_MAX, LEASE_TTL_MS } from "../../src/budget/limits.ts";
import { getDeps } from "../../src/deps.ts";
import worker from "../../src/index.ts";
import { DEFAULT_TICK_LIMITS } from "../../src/reconcile/limits.ts";
import { DEAD_LETTER_INCIDENT_KEY, RECONCILE_DEAD_LETTER_QUEUE } from "../../src/reconcile/queue.ts";
import { runReconcile } from "../../src/reconcile/reconcile.ts";
import { adminHeaders, BASE_URL, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import {
  dueOrders,
  eachOf,
  purchasesPerOrder,
  startStripeCursorNow,
  statuses,
} from "../support/worker/reconcile.ts";
import { wechatScenario } from "../support/worker/wechat.ts";

/** Small, so a few seconds of calls fill many windows. */
const RATE_PER_S = 20;
const LIMIT = bucketLimit(RATE_PER_S);
const WINDOW_MS = 1000;
/** Between the worker sending a call and the sandbox logging it (local HTTP). */
const LOG_SLACK_MS = 100;
const TEST_TIMEOUT_MS = 60_000;
const REASON = "provider budget test: overlapping batch sync";

interface Call {
  method: string;
  path: string;
  status: number;
  atMs: number;
  fault: string | null;
}

const providerCalls = async (sinceMs: number, prefix: string) =>
  (await sandbox<{ calls: Call[] }>("calls")).calls.filter(
    (call) => call.atMs >= sinceMs && call.path.startsWith(prefix),
  );

/**
 * The deployment with the test's rate, and a queue whose shares run here at once (through the worker's
 * own queue handler, with this env), so the test knows when every share has finished.
 */
function deploymentWithSmallRate() {
  const running: Promise<unknown>[] = [];
  let sent = 0;
  const testEnv: Env = {
    ...env,
    PROVIDER_REQUESTS_PER_SECOND: `wechatpay=${RATE_PER_S},stripe_test=${RATE_PER_S}`,
  } as unknown as Env;
  const share = async (body: unknown) => {
    sent += 1;
    const id = `share-${sent}`;
    const batch = createMessageBatch("payguard-reconcile", [
      { id, timestamp: Date.now(), attempts: 1, body },
    ]);
    await worker.queue(batch, testEnv);
  };
  testEnv.RECONCILE_QUEUE = {
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const message of messages) running.push(share(message.body));
    },
  } as unknown as Queue;
  const sharesDone = async () => {
    for (let seen = 0; seen < running.length; seen = running.length) await Promise.all(running);
    return sent;
  };
  return { testEnv, sharesDone };
}

const tick = (testEnv: Env, ordersMax: number) =>
  runReconcile(testEnv, getDeps(testEnv), Date.now(), { ...DEFAULT_TICK_LIMITS, ordersMax });

const batchSync = (testEnv: Env, limit: number) =>
  worker.fetch(
    new Request(`${BASE_URL}/admin/api/orders/sync`, {
      method: "POST",
      headers: { ...adminHeaders(), "content-type": "application/json" },
      body: JSON.stringify({ reason: REASON, status: "pending", provider: "wechatpay", limit }),
    }),
    testEnv,
    createExecutionContext(),
  );

describe("one provider budget per deployment", () => {
  beforeAll(async () => {
    await seedPackage();
    await startStripeCursorNow();
  });

  it(
    "two overlapping ticks, their queue shares and an operator batch never exceed the named rate",
    async () => {
      const ids = await dueOrders("wechatpay", 70);
      const paid = ids.slice(0, 20);
      await eachOf(paid, (orderId) => wechatScenario("pay", { orderId, amountMinor: 990 }));
      const { testEnv, sharesDone } = deploymentWithSmallRate();
      const startedMs = Date.now();
      const [first, second, synced] = await Promise.all([
        tick(testEnv, 15),
        tick(testEnv, 15),
        batchSync(testEnv, 20),
      ]);
      const shares = await sharesDone();

      expect([first.detail.stopped_by, second.detail.stopped_by]).toEqual(["orders", "orders"]);
      expect(shares).toBeGreaterThanOrEqual(4);
      expect(synced.status).toBe(200);
      const calls = (await providerCalls(startedMs, "/v3/")).map((call) => call.atMs);
      expect(calls.length).toBeGreaterThanOrEqual(70);
      // The budget was what held them back (a full window), and it held: no window above what it allows.
      expect(busiestWindow(calls, WINDOW_MS)).toBeGreaterThanOrEqual(RATE_PER_S);
      expect(busiestWindow(calls, WINDOW_MS)).toBeLessThanOrEqual(callsAllowedIn(LIMIT, WINDOW_MS));
      expect(busiestWindow(calls, 250)).toBeLessThanOrEqual(callsAllowedIn(LIMIT, 250 + LOG_SLACK_MS));
      expect(await statuses(paid)).toEqual({ fulfilled: 20 });
      expect(new Set(await purchasesPerOrder(paid))).toEqual(new Set([1]));
      expect(await statuses(ids.slice(20))).toEqual({ pending: 50 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a 429 with Retry-After that one invocation meets keeps every other off the provider until it passed",
    async () => {
      await dueOrders("wechatpay", 40);
      const { testEnv, sharesDone } = deploymentWithSmallRate();
      await sandbox("faults", { api: [{ kind: "429", retryAfterS: 2, count: 1, pathPrefix: "/v3/pay/" }] });
      const startedMs = Date.now();
      try {
        await Promise.all([tick(testEnv, 20), tick(testEnv, 20)]);
        await sharesDone();
      } finally {
        await sandbox("faults", { api: [] });
      }
      const calls = await providerCalls(startedMs, "/v3/");
      const limited = calls.find((call) => call.status === 429);
      expect(limited).toBeDefined();
      const limitedAtMs = limited?.atMs ?? 0;
      // Calls already on their way, and tokens already leased, may still arrive within the lease horizon.
      const stragglersUntilMs = limitedAtMs + LEASE_AHEAD_MS_MAX + LEASE_TTL_MS + LOG_SLACK_MS;
      const duringPause = calls.filter(
        (call) => call.atMs > stragglersUntilMs && call.atMs < limitedAtMs + 2000,
      );
      expect(duringPause).toEqual([]);
      expect(calls.filter((call) => call.atMs >= limitedAtMs + 2000).length).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("the reconcile queue drops nothing", () => {
  const message = (id: string, body: unknown) => ({ id, timestamp: Date.now(), attempts: 1, body });
  const openIncident = async () =>
    sql<{ status: string; detail: Record<string, unknown> }>(
      "select status, detail from payguard.incidents where key = $1 order by id desc limit 1",
      [DEAD_LETTER_INCIDENT_KEY],
    );

  it("retries a share whose configuration does not load, and a message it cannot read", async () => {
    const broken = { ...env, SUPABASE_URL: "" } as unknown as Env;
    const batch = createMessageBatch("payguard-reconcile", [message("m-config", { kind: "reconcile_due" })]);
    const ctx = createExecutionContext();
    await worker.queue(batch, broken);
    const unknown = createMessageBatch("payguard-reconcile", [message("m-unknown", { kind: "bogus" })]);
    const unknownCtx = createExecutionContext();
    await worker.queue(unknown, env);
    for (const [result, id] of [
      [await getQueueResult(batch, ctx), "m-config"],
      [await getQueueResult(unknown, unknownCtx), "m-unknown"],
    ] as const) {
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages.map((retry) => retry.msgId)).toEqual([id]);
    }
  });

  it("a dead-lettered share opens an incident, and the next share that runs resolves it", async () => {
    const dead = createMessageBatch(RECONCILE_DEAD_LETTER_QUEUE, [
      message("m-dead", { kind: "reconcile_due" }),
    ]);
    const deadCtx = createExecutionContext();
    await worker.queue(dead, env);
    expect((await getQueueResult(dead, deadCtx)).explicitAcks).toEqual(["m-dead"]);
    const [opened] = await openIncident();
    expect(opened).toMatchObject({
      status: "open",
      detail: { message_id: "m-dead", body_kind: "reconcile_due" },
    });

    const share = createMessageBatch("payguard-reconcile", [message("m-next", { kind: "reconcile_due" })]);
    const shareCtx = createExecutionContext();
    await worker.queue(share, env);
    expect((await getQueueResult(share, shareCtx)).explicitAcks).toEqual(["m-next"]);
    expect((await openIncident())[0]?.status).toBe("resolved");
  });
});
