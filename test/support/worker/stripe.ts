/** Stripe-side helpers for integration tests: sign payloads like Stripe, drive the sandbox, read the ledger. */
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { type Delivery, deliver, sandbox, sql } from "./harness.ts";

const cryptoProvider = Stripe.createSubtleCryptoProvider();
const webhooks = new Stripe("sk_test_signing_only").webhooks;

export async function signStripe(payload: string, secret: string, timestampS?: number): Promise<string> {
  return webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp: timestampS, cryptoProvider });
}

export async function postStripe(body: string, signature: string | null): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== null) headers["stripe-signature"] = signature;
  return deliver({ url: "", headers, body }, "/webhooks/stripe");
}

/** Posts a payload signed with the configured secret, as Stripe would. */
export async function postSignedStripe(payload: unknown): Promise<Response> {
  const body = JSON.stringify(payload);
  return postStripe(body, await signStripe(body, env.STRIPE_WEBHOOK_SECRET));
}

export interface ControlAnswer {
  eventIds: string[];
  deliveries: Delivery[];
}

/** Asks the sandbox to run a scenario and hands back the signed deliveries instead of sending them. */
export function stripeScenario(action: string, body: Record<string, unknown>): Promise<ControlAnswer> {
  return sandbox<ControlAnswer>(`stripe/${action}`, { ...body, deliver: false });
}

export const deliverStripe = (delivery: Delivery) => deliver(delivery, "/webhooks/stripe");

export async function createOrder(userId: string, packageId = "credits_100"): Promise<string> {
  const rows = await sql<{ order: { id: string } }>(
    "select payguard.create_order($1::uuid, $2, 'stripe', $3::timestamptz) as order",
    [userId, packageId, new Date().toISOString()],
  );
  const id = rows[0]?.order.id;
  if (!id) throw new Error("create_order returned nothing");
  return id;
}

export async function ledgerOf(userId: string) {
  const [balance] = await sql<{ credits: number | null }>(
    "select (select credits from payguard.credit_balances where user_id = $1::uuid)::int as credits",
    [userId],
  );
  const rows = await sql<{ kind: string; credits: number }>(
    "select kind, credits::int as credits from payguard.credit_ledger where user_id = $1::uuid order by id",
    [userId],
  );
  return { balance: balance?.credits ?? 0, rows };
}

export async function orderStatus(orderId: string): Promise<string | null> {
  const rows = await sql<{ status: string }>("select status from payguard.payment_orders where id = $1", [
    orderId,
  ]);
  return rows[0]?.status ?? null;
}

export async function inboxCount(): Promise<number> {
  const rows = await sql<{ n: number }>("select count(*)::int as n from payguard.webhook_events");
  return rows[0]?.n ?? 0;
}
