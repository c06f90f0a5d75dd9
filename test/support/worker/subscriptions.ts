/**
 * Subscriptions in integration tests: a plan in the database (test/support/node/subscription-history.ts)
 * and its price at the sandbox; a subscription bought at the sandbox through a subscription-mode Checkout
 * Session and paid, its webhooks handed back (dropped unless the test delivers them); a renewal; and a
 * user's history of paid invoices settled through `payguard.settle_event`, for suites that only need rows.
 */
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import {
  type History,
  type Plan,
  plan,
  planRows,
  subscriptionHistory,
} from "../node/subscription-history.ts";
import { sandbox, sql } from "./harness.ts";
import { type ControlAnswer, stripeScenario } from "./stripe.ts";

export async function seedPlan(id: string, options: Parameters<typeof plan>[1] = {}): Promise<Plan> {
  const seeded = plan(id, options);
  for (const [query, params] of planRows(seeded)) await sql(query, params);
  return seeded;
}

/** The plan's price defined at the sandbox, so Checkout sells it and Stripe bills it. */
export async function billedAtSandbox(p: Plan): Promise<Plan> {
  await sandbox("stripe/price", {
    id: p.priceRef,
    unitAmount: p.amountMinor,
    currency: "usd",
    interval: "month",
    productName: p.name,
  });
  return p;
}

/** `subscriptionHistory` settled for `user`. */
export async function settleHistory(user: string, p: Plan): Promise<History> {
  const history = subscriptionHistory(user, p, Date.now());
  for (const [query, params] of history.calls) await sql(query, params);
  return history;
}

export interface Subscribed extends ControlAnswer {
  subscriptionId: string;
  invoiceId: string;
  paymentIntentId: string;
}

/** `user` subscribes to `p` at the sandbox and pays; nothing reaches payguard (the webhooks are handed back). */
export async function subscribeAtSandbox(user: string, p: Plan): Promise<Subscribed> {
  const form = new URLSearchParams({
    mode: "subscription",
    "line_items[0][price]": p.priceRef,
    "line_items[0][quantity]": "1",
    "subscription_data[metadata][user_id]": user,
    "subscription_data[metadata][package_id]": p.id,
    success_url: "https://app.example/paid",
    cancel_url: "https://app.example/cancel",
  });
  const created = await fetch(`${inject("sandboxUrl")}/v1/checkout/sessions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: form.toString(),
  });
  if (!created.ok) throw new Error(`session create failed: ${created.status} ${await created.text()}`);
  const { id: sessionId } = (await created.json()) as { id: string };
  // With a session named, `pay` pays that one; the order id is not read.
  return (await stripeScenario("pay", { orderId: "unused", sessionId })) as Subscribed;
}

/** The subscription's period ends now and renews: its invoice paid, or declined (left open). */
export function renewAtSandbox(subscriptionId: string, outcome: "paid" | "failed" = "paid") {
  return stripeScenario("subscription/renew", { subscriptionId, outcome }) as Promise<
    ControlAnswer & { invoiceId: string; status: string }
  >;
}

/** The subscription as Stripe (the sandbox) states it now. */
export async function sandboxSubscription(id: string): Promise<{ status: string; latest_invoice: string }> {
  const response = await fetch(`${inject("sandboxUrl")}/v1/subscriptions/${id}`, {
    headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
  });
  return (await response.json()) as { status: string; latest_invoice: string };
}
