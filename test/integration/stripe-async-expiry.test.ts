// Issue 22 item 9 through the reconcile tick: a Checkout Session completed with an async method (payment
// still processing) whose webhook was lost reaches its order's expiry. The tick must not expire the order
// nor sell its stock unit again; Stripe refuses to expire a complete session, the session's query says the
// payment is in flight, and the order waits (expires_at pushed to Stripe's bound) for the async result.
// Runs ticks over the whole database: listed in vitest.config.ts SERIAL_SUITES.
import { beforeAll, describe, expect, it } from "vitest";
import { ASYNC_PAYMENT_WAIT_MS } from "../../src/providers/stripe/normalise.ts";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { type Delivery, sandbox, sql } from "../support/worker/harness.ts";
import { callsFor, runCron, startStripeCursorNow } from "../support/worker/reconcile.ts";
import {
  type ControlAnswer,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

const PACKAGE_ID = `credits_async_${crypto.randomUUID().slice(0, 8)}`;
/** Past the second the payment's event was created in, so the backfill window starts after it. */
const NEXT_SECOND_WAIT_MS = 1_100;

const createOrder = async (userId: string) => {
  const [row] = await sql<{ id: string }>(
    "select (payguard.create_order($1::uuid, $2, 'stripe', now()))->>'id' as id",
    [userId, PACKAGE_ID],
  );
  return row?.id as string;
};

describe("reconcile at expiry: a complete session whose async payment is still processing", () => {
  const user = crypto.randomUUID();
  let orderId = "";
  let completed: ControlAnswer & { sessionId: string; paymentIntentId: string };

  beforeAll(async () => {
    await sql(
      `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
       values ($1, 'one of a kind', 1999, 'USD', 100, true, 1)`,
      [PACKAGE_ID],
    );
    orderId = await createOrder(user);
    const metadata = { user_id: user, package_id: PACKAGE_ID };
    completed = (await stripeScenario("pay", {
      orderId,
      amountMinor: 1999,
      currency: "usd",
      metadata,
      async: "pending",
    })) as typeof completed;
    await sql("select payguard.set_provider_ref($1, $2, now())", [orderId, completed.sessionId]);
    // The completed (unpaid) webhook is lost, and the backfill starts after it: only the query can tell.
    await new Promise((resolve) => setTimeout(resolve, NEXT_SECOND_WAIT_MS));
    await startStripeCursorNow();
    await sql(
      `update payguard.payment_orders set expires_at = now() - interval '1 second',
              next_check_at = now() - interval '1 second' where id = $1`,
      [orderId],
    );
    await runCron(CRON_RECONCILE);
  });

  it("keeps the order pending until Stripe's bound, and the session complete at Stripe", async () => {
    expect(await orderStatus(orderId)).toBe("pending");
    const [row] = await sql<{ expires_at_ms: number }>(
      "select (extract(epoch from expires_at) * 1000)::bigint as expires_at_ms from payguard.payment_orders where id = $1",
      [orderId],
    );
    const completedAtS = (JSON.parse((completed.deliveries[0] as Delivery).body) as { created: number })
      .created;
    expect(row?.expires_at_ms).toBe(completedAtS * 1000 + ASYNC_PAYMENT_WAIT_MS);
    const { sessions } = await sandbox<{ sessions: Array<{ status: string }> }>(
      `stripe/sessions?orderId=${orderId}`,
    );
    expect(sessions.map((session) => session.status)).toEqual(["complete"]);
    // The close was refused (the session is complete) and the query found the payment in flight.
    const calls = await callsFor(completed.sessionId);
    expect(calls.map((call) => `${call.method} ${call.status}`)).toEqual(["POST 400", "GET 200"]);
  });

  it("sells no second unit of a stock of 1 meanwhile, and asks Stripe nothing more on the next tick", async () => {
    await expect(createOrder(crypto.randomUUID())).rejects.toThrow(/out_of_stock/);
    const before = (await callsFor(completed.sessionId)).length;
    await runCron(CRON_RECONCILE);
    expect((await callsFor(completed.sessionId)).length).toBe(before);
  });

  it("credits the async success once when it comes", async () => {
    const succeeded = await stripeScenario("pay/finish", { orderId, status: "succeeded" });
    for (const delivery of [...succeeded.deliveries, ...completed.deliveries])
      expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
  });
});
