// Test support for the Stripe Billing suites (dev/sandbox/stripe/*.test.ts): a stripe-node client on a
// sandbox, control calls with their HTTP status, the events of a step in creation order, the prices the
// suites share, and a customer subscribing through Checkout.
import Stripe from "stripe";
import type { Sandbox } from "../index.ts";

export interface Delivery {
  eventId: string;
  body: string;
}

/** A control answer: a step's fields, with the HTTP status it came with. */
export type Answer = Record<string, unknown> & {
  status: number;
  eventIds: string[];
  paymentEventIds: string[];
  deliveries: Delivery[];
  paymentDeliveries: Delivery[];
};

export const clientFor = (target: Sandbox): Stripe => {
  const { port } = new URL(target.url);
  return new Stripe(target.stripe.secretKey, {
    host: "127.0.0.1",
    port: Number(port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
};

/** GET without a body, POST with one. */
export async function controlOf(target: Sandbox, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${target.url}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { ...((await response.json()) as Answer), status: response.status };
}

/** The events with these ids, in the order the sandbox created them. */
export async function eventsIn(client: Stripe, ids: string[]): Promise<Stripe.Event[]> {
  const wanted = new Set(ids);
  const found: Stripe.Event[] = [];
  for await (const event of client.events.list({ limit: 100 })) if (wanted.has(event.id)) found.push(event);
  return found.reverse();
}

/** Every event a step emitted: its own and its payment's. */
export const allOf = (answer: Answer): string[] => [...answer.eventIds, ...answer.paymentEventIds];

const PRICES = [
  { id: "price_pro", unitAmount: 1000, interval: "month", productName: "Pro" },
  { id: "price_team", unitAmount: 2500, interval: "month", productName: "Team" },
  { id: "price_daily", unitAmount: 300, interval: "day", productName: "Day pass" },
  { id: "price_yearly", unitAmount: 9900, interval: "year", productName: "Pro yearly" },
];

/** Pro $10 and Team $25 a month, a $3 day pass, Pro yearly at $99. */
export async function definePrices(target: Sandbox): Promise<void> {
  for (const price of PRICES) await controlOf(target, "stripe/price", { ...price, currency: "usd" });
}

/** A customer subscribes through Checkout, paying through the `pay` control. */
export async function subscribe(
  client: Stripe,
  target: Sandbox,
  orderId: string,
  price: string,
  quantity = 1,
) {
  const session = await client.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price, quantity }],
    client_reference_id: orderId,
    metadata: { order_id: orderId },
    subscription_data: { metadata: { user_id: "u1", plan: "pro" } },
    success_url: "https://app.example.com/ok?session={CHECKOUT_SESSION_ID}",
  });
  const paid = await controlOf(target, "stripe/pay", { orderId, sessionId: session.id });
  return {
    session,
    paid,
    subscriptionId: paid.subscriptionId as string,
    invoiceId: paid.invoiceId as string,
  };
}
