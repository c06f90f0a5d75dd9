/**
 * Incidents live in the settlement's transaction (the database's incident outbox), so no timing can hide
 * one: a settlement the worker gave up on still commits its incidents, and the cron drain delivers what no
 * caller did. Serial: it runs the reconcile cron (the drain) and revokes a grant deployment-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPABASE_CALL_TIMEOUT_MS } from "../../src/db/rpc.ts";
import { OUTBOX_MIN_AGE_SECONDS } from "../../src/ledger/incident-outbox.ts";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { installTestAppHook, removeTestAppHook } from "../support/worker/app-hook.ts";
import { seedPackage, sql } from "../support/worker/harness.ts";
import { runCron } from "../support/worker/reconcile.ts";
import { createOrder, deliverStripe, ledgerOf, stripeScenario } from "../support/worker/stripe.ts";
import { createWechatOrder, deliverWechat, only, wechatScenario } from "../support/worker/wechat.ts";

/** Longer than the worker waits for one database call: the settlement commits after it answered 503. */
const SLOW_HOOK_MS = SUPABASE_CALL_TIMEOUT_MS + 1_000;
const OPEN_INCIDENT = "payguard.open_incident(text, text, text, text, jsonb, timestamptz)";

beforeAll(async () => {
  await seedPackage();
  await installTestAppHook();
});
afterAll(removeTestAppHook);

const incidentsOf = (key: string) =>
  sql<{ kind: string; severity: string; status: string }>(
    "select kind, severity, status from payguard.incidents where key = $1",
    [key],
  );
const outboxOf = (key: string) =>
  sql<{ action: string }>("select action from payguard.incident_outbox where key = $1 order by id", [key]);

/** The 5-minute cron once the rows are old enough that no settlement is still delivering them itself. */
const runDrain = () => runCron(CRON_RECONCILE, Date.now() + (OUTBOX_MIN_AGE_SECONDS + 5) * 1000);

/** A user whose app hook takes SLOW_HOOK_MS for each of their settlements. */
async function slowHookUser(): Promise<string> {
  const user = crypto.randomUUID();
  await sql("insert into payguard_app.hook_users (user_id, delay_ms) values ($1, $2)", [user, SLOW_HOOK_MS]);
  return user;
}

const CASES = [
  {
    kind: "late_payment",
    /** An order that expired before the payment came. */
    order: async (user: string) => {
      const orderId = await createOrder(user);
      await sql("select payguard.expire_order($1, 'test: expired before its payment', now())", [orderId]);
      return { orderId, extra: {} };
    },
  },
  {
    kind: "created_from_metadata",
    /** An order whose row was never written: the payment's metadata rebuilds it. */
    order: async (user: string) => ({
      orderId: `ord_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
      extra: { metadata: { user_id: user, package_id: "credits_100" } },
    }),
  },
] as const;

describe("an incident survives a settlement that commits after the worker gave up (issue 22, item 5)", () => {
  it.each(CASES)(
    "$kind: first delivery 503 while the transaction commits, the redelivery is a duplicate, the incident still reaches the AlertDesk",
    async ({ kind, order }) => {
      const user = await slowHookUser();
      const { orderId, extra } = await order(user);
      const { deliveries } = await stripeScenario("pay", {
        orderId,
        amountMinor: 1999,
        currency: "usd",
        ...extra,
      });
      const completed = deliveries[0];
      if (!completed) throw new Error("no delivery");
      const key = `${kind}:${orderId}`;

      // The worker stops waiting at SUPABASE_CALL_TIMEOUT_MS; the database commits the settlement later.
      expect((await deliverStripe(completed)).status).toBe(503);
      expect((await deliverStripe(completed)).status).toBe(200);
      const inbox = await sql<{ status: string }>(
        "select status from payguard.webhook_events where provider = 'stripe' and event_id = $1",
        [(JSON.parse(completed.body) as { id: string }).id],
      );
      expect(inbox).toEqual([{ status: "processed" }]);
      expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
      // The answer that carried it was lost; the redelivery, a duplicate, handed it over and it was delivered.
      expect(await incidentsOf(key)).toEqual([{ kind, severity: "warning", status: "open" }]);
      expect(await outboxOf(key)).toEqual([]);
    },
  );
});

describe("an event that needs a human is acknowledged once its incident is durable in the outbox", () => {
  it("WeChat Pay: 204 while the incident write fails, the incident kept in the outbox; the drain stores it once the write works", async () => {
    const user = crypto.randomUUID();
    const orderId = await createWechatOrder(user);
    const wrongAmount = only(await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 1 }));
    const key = `needs_review:${orderId}`;
    await sql(`revoke execute on function ${OPEN_INCIDENT} from service_role`);
    try {
      expect((await deliverWechat(wrongAmount)).status).toBe(204);
      expect(await outboxOf(key)).toEqual([{ action: "raise" }]);
    } finally {
      await sql(`grant execute on function ${OPEN_INCIDENT} to service_role`);
    }
    expect((await deliverWechat(wrongAmount)).status).toBe(204);
    await runDrain();
    const incidents = await sql("select 1 from payguard.incidents where key = $1 and status = 'open'", [key]);
    expect(incidents).toHaveLength(1);
    expect(await outboxOf(key)).toEqual([]);
    expect((await ledgerOf(user)).balance).toBe(0);
  });

  it("a drain that meets the outbox rows again (delivered twice) leaves one open incident", async () => {
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 999, currency: "usd" });
    const completed = deliveries[0];
    if (!completed) throw new Error("no delivery");
    const key = `needs_review:${orderId}`;
    expect((await deliverStripe(completed)).status).toBe(200);
    expect(await outboxOf(key)).toEqual([]);
    // As if the finish after a delivery had failed: the row is back, and the drain sends it again.
    await sql(
      `insert into payguard.incident_outbox (action, key, kind, severity, summary, detail, created_at)
       select 'raise', key, kind, severity, summary, detail, now() from payguard.incidents where key = $1`,
      [key],
    );
    await runDrain();
    expect(await incidentsOf(key)).toEqual([{ kind: "needs_review", severity: "critical", status: "open" }]);
    expect(await outboxOf(key)).toEqual([]);
  });
});
