/**
 * Orders and payments for the browser tests, made the way production makes them: `create_order` in the
 * stand-in, then the Stripe sandbox completes a Checkout Session and delivers its signed webhooks to the
 * worker itself; the helpers wait until the worker has settled what was delivered. Also the Slack messages
 * the sandbox's receiver got, and the incident links in them (Block Kit or plain text alike).
 */
import type { ConsoleStack } from "./console.ts";
import { waitFor } from "./console.ts";

export const PACKAGES_SQL = `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
  values ('credits_100', '100 credits', 1999, 'USD', 100, true),
         ('credits_cny', '100 credits (CNY)', 990, 'CNY', 100, true),
         ('credits_1200', '1,200 credits', 9900, 'USD', 1200, true)
  on conflict (id) do nothing`;

export async function createOrder(
  c: ConsoleStack,
  user: string,
  packageId = "credits_100",
  provider: "stripe" | "wechatpay" = "stripe",
): Promise<string> {
  const [row] = await c.sql<{ id: string }>(
    "select payguard.create_order($1::uuid, $2, $3, now())->>'id' as id",
    [user, packageId, provider],
  );
  if (!row?.id) throw new Error("create_order returned nothing");
  return row.id;
}

export const orderStatus = async (c: ConsoleStack, orderId: string) =>
  (await c.sql<{ status: string }>("select status from payguard.payment_orders where id = $1", [orderId]))[0]
    ?.status;

const paymentCount = async (c: ConsoleStack, orderId: string) =>
  (
    await c.sql<{ n: number }>("select count(*)::int as n from payguard.order_payments where order_id = $1", [
      orderId,
    ])
  )[0]?.n ?? 0;

export const balanceOf = async (c: ConsoleStack, user: string) =>
  (
    await c.sql<{ credits: number }>(
      "select credits::int as credits from payguard.credit_balances where user_id = $1",
      [user],
    )
  )[0]?.credits ?? 0;

/**
 * One more payment of `orderId` at the Stripe sandbox (a new Checkout Session when the last one is paid),
 * delivered by the sandbox; resolves once the worker recorded it and the order is `status`. The PaymentIntent.
 */
export async function payAtStripe(
  c: ConsoleStack,
  orderId: string,
  amountMinor: number,
  status: string,
): Promise<string> {
  const before = await paymentCount(c, orderId);
  const paid = await c.control<{ paymentIntentId: string }>("stripe/pay", {
    orderId,
    amountMinor,
    currency: "usd",
  });
  await waitFor(`order ${orderId} ${status} with payment ${paid.paymentIntentId}`, async () =>
    (await paymentCount(c, orderId)) > before && (await orderStatus(c, orderId)) === status
      ? true
      : undefined,
  );
  return paid.paymentIntentId;
}

/** A Stripe order paid in full and credited. */
export async function paidOrder(
  c: ConsoleStack,
  user: string,
  packageId = "credits_100",
  amountMinor = 1999,
) {
  const orderId = await createOrder(c, user, packageId);
  return { orderId, paymentIntentId: await payAtStripe(c, orderId, amountMinor, "fulfilled") };
}

/** A 19.99 USD order paid 9.99 at Stripe: in review, with a critical `needs_review:<order>` incident. */
export async function wrongAmountOrder(c: ConsoleStack, user: string) {
  const orderId = await createOrder(c, user);
  return { orderId, paymentIntentId: await payAtStripe(c, orderId, 999, "needs_review") };
}

/** A 19.99 USD order paid twice in full at Stripe: in review, credited once. */
export async function paidTwiceOrder(c: ConsoleStack, user: string) {
  const { orderId } = await paidOrder(c, user);
  await payAtStripe(c, orderId, 1999, "needs_review");
  return orderId;
}

export const refundsOf = (c: ConsoleStack, orderId: string) =>
  c.sql<{ payment_ref: string; amount_minor: number; status: string }>(
    "select payment_ref, amount_minor::int as amount_minor, status from payguard.payment_refunds where order_id = $1",
    [orderId],
  );

export async function sandboxRefundsOf(c: ConsoleStack, paymentIntentId: string): Promise<number[]> {
  const { refunds } = await c.control<{ refunds: Array<{ payment_intent: string; amount: number }> }>(
    "stripe/refunds",
  );
  return refunds.filter((refund) => refund.payment_intent === paymentIntentId).map((refund) => refund.amount);
}

export const incidentOf = async (c: ConsoleStack, key: string) =>
  (
    await c.sql<{ status: string; severity: string }>(
      "select status, severity from payguard.incidents where key = $1 order by id desc limit 1",
      [key],
    )
  )[0];

interface ReceivedAlert {
  channel: string;
  kind?: string;
  accepted: boolean;
  payload: unknown;
}

/** Every `/admin/incidents/…` URL anywhere in a message: mrkdwn `<url|label>`, a button's url, plain text. */
export function incidentLinks(payload: unknown): string[] {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return [...text.matchAll(/https?:\/\/[^\s"<>|\\]+\/admin\/incidents\/[^\s"<>|\\)]+/g)].map((m) => m[0]);
}

/** The Slack messages the sandbox's receiver accepted that link to the incident `key`, oldest first. */
export async function slackMessagesAbout(c: ConsoleStack, key: string): Promise<ReceivedAlert[]> {
  const { alerts } = await c.control<{ alerts: ReceivedAlert[] }>("alerts");
  const page = `/admin/incidents/${encodeURIComponent(key)}`;
  return alerts.filter(
    (alert) =>
      alert.channel === "slack" &&
      alert.kind !== "response" &&
      alert.accepted &&
      incidentLinks(alert.payload).some((link) => new URL(link).pathname === page),
  );
}
