import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installTestAppHook, removeTestAppHook } from "../support/worker/app-hook.ts";
import { seedPackage, sql } from "../support/worker/harness.ts";
import {
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";

beforeAll(async () => {
  await seedPackage();
  await installTestAppHook();
});
afterAll(removeTestAppHook);

const pointsOf = async (user: string) =>
  (await sql<{ points: number }>("select points from payguard_app.hook_users where user_id = $1", [user]))[0]
    ?.points;

async function paidDelivery(user: string) {
  const orderId = await createOrder(user);
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
  const delivery = deliveries[0];
  if (!delivery) throw new Error("no delivery");
  return { orderId, delivery };
}

describe("app hook through the worker", () => {
  it("grants the app's points in the same transaction as the ledger", async () => {
    const user = crypto.randomUUID();
    await sql("insert into payguard_app.hook_users (user_id) values ($1)", [user]);
    const { delivery } = await paidDelivery(user);
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await pointsOf(user)).toBe(100);
  });

  it("answers 5xx, changes nothing and opens an incident when the hook raises; the redelivery credits once", async () => {
    const user = crypto.randomUUID();
    await sql("insert into payguard_app.hook_users (user_id, broken) values ($1, true)", [user]);
    const { orderId, delivery } = await paidDelivery(user);
    const refused = await deliverStripe(delivery);
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(await orderStatus(orderId)).toBe("pending");
    expect(await ledgerOf(user)).toEqual({ balance: 0, rows: [] });
    expect(await pointsOf(user)).toBe(0);
    const incidents = await sql<{ kind: string; status: string; severity: string }>(
      "select kind, status, severity from payguard.incidents where key = $1",
      [`app_hook_failed:${orderId}`],
    );
    expect(incidents).toEqual([{ kind: "app_hook_failed", status: "open", severity: "critical" }]);

    await sql("update payguard_app.hook_users set broken = false where user_id = $1", [user]);
    expect((await deliverStripe(delivery)).status).toBe(200);
    expect(await orderStatus(orderId)).toBe("fulfilled");
    expect((await ledgerOf(user)).balance).toBe(100);
    expect(await pointsOf(user)).toBe(100);
    // The settlement that went through resolved it (an outbox row of its transaction, delivered at once).
    const after = await sql<{ status: string }>("select status from payguard.incidents where key = $1", [
      `app_hook_failed:${orderId}`,
    ]);
    expect(after).toEqual([{ status: "resolved" }]);
  });
});
