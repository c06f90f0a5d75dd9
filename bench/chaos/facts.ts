/**
 * What the sandbox says happened to each order, read once after the run: what was paid, every refund
 * as it ended (succeeded or failed) and every dispute as it stands; and what those facts imply for the
 * order under the settlement rules of docs/schema.md ("Settlement"), computed here on their own so the
 * checks compare payguard's ledger with the rules, not with payguard's own arithmetic.
 */
import type { BenchStack } from "../lib/stack.ts";
import type { Tracked } from "./orders.ts";

export type RefundEnd = "succeeded" | "failed" | "other";
export type DisputeState = "open" | "won" | "lost";

export interface ProviderRefund {
  id: string;
  amountMinor: number;
  status: RefundEnd;
}

export interface ProviderDispute {
  id: string;
  amountMinor: number;
  state: DisputeState;
}

export interface ProviderFacts {
  /** What the customer paid for the order (0 for a free checkout); null: never paid at the provider. */
  paidMinor: number | null;
  refunds: ProviderRefund[];
  disputes: ProviderDispute[];
}

interface StripeSession {
  client_reference_id: string | null;
  payment_status: string;
  amount_total: number;
  payment_intent: string | null;
}

const NO_FACTS: ProviderFacts = { paidMinor: null, refunds: [], disputes: [] };

const stripeRefundEnd = (status: string): RefundEnd =>
  status === "succeeded" || status === "failed" ? status : "other";
const stripeDisputeState = (status: string): DisputeState =>
  status === "won" || status === "lost" ? status : "open";

async function stripeFacts(stack: BenchStack, ours: Set<string>): Promise<Map<string, ProviderFacts>> {
  const [{ sessions }, { refunds }, { disputes }] = await Promise.all([
    stack.control<{ sessions: StripeSession[] }>("stripe/sessions"),
    stack.control<{ refunds: Array<{ id: string; amount: number; status: string; payment_intent: string }> }>(
      "stripe/refunds",
    ),
    stack.control<{
      disputes: Array<{ id: string; amount: number; status: string; payment_intent: string }>;
    }>("stripe/disputes"),
  ]);
  const byIntent = new Map<string, ProviderFacts>();
  const facts = new Map<string, ProviderFacts>();
  for (const session of sessions) {
    const orderId = session.client_reference_id;
    const paid = session.payment_status === "paid" || session.payment_status === "no_payment_required";
    if (!orderId || !ours.has(orderId) || !paid) continue;
    const fact: ProviderFacts = { paidMinor: session.amount_total, refunds: [], disputes: [] };
    facts.set(orderId, fact);
    if (session.payment_intent) byIntent.set(session.payment_intent, fact);
  }
  for (const refund of refunds)
    byIntent.get(refund.payment_intent)?.refunds.push({
      id: refund.id,
      amountMinor: refund.amount,
      status: stripeRefundEnd(refund.status),
    });
  for (const dispute of disputes)
    byIntent.get(dispute.payment_intent)?.disputes.push({
      id: dispute.id,
      amountMinor: dispute.amount,
      state: stripeDisputeState(dispute.status),
    });
  return facts;
}

/** WeChat Pay: the paid orders and their refunds (WeChat has no disputes; a SUCCESS refund is final). */
async function wechatFacts(stack: BenchStack, ours: Set<string>): Promise<Map<string, ProviderFacts>> {
  const [{ orders }, { refunds }] = await Promise.all([
    stack.control<{ orders: Array<{ outTradeNo: string; tradeState: string; amountMinor: number }> }>(
      "wechat/orders",
    ),
    stack.control<{
      refunds: Array<{ refundId: string; outTradeNo: string; amountMinor: number; status: string }>;
    }>("wechat/refunds"),
  ]);
  const facts = new Map<string, ProviderFacts>();
  for (const order of orders)
    if (ours.has(order.outTradeNo) && (order.tradeState === "SUCCESS" || order.tradeState === "REFUND"))
      facts.set(order.outTradeNo, { paidMinor: order.amountMinor, refunds: [], disputes: [] });
  for (const refund of refunds)
    facts.get(refund.outTradeNo)?.refunds.push({
      id: refund.refundId,
      amountMinor: refund.amountMinor,
      status: refund.status === "SUCCESS" ? "succeeded" : "other",
    });
  return facts;
}

/** Every tracked order's facts at its provider (an order the provider never saw paid has none). */
export async function readProviderFacts(
  stack: BenchStack,
  tracked: Tracked[],
): Promise<Map<string, ProviderFacts>> {
  const ours = new Set(tracked.map((order) => order.orderId));
  const [stripe, wechat] = await Promise.all([stripeFacts(stack, ours), wechatFacts(stack, ours)]);
  return new Map(
    tracked.map((order) => [
      order.orderId,
      stripe.get(order.orderId) ?? wechat.get(order.orderId) ?? NO_FACTS,
    ]),
  );
}

/** The refunds that moved money back, and the disputes that hold it (open or lost), under the default policy. */
export const succeededMinor = (facts: ProviderFacts): number =>
  facts.refunds.filter((r) => r.status === "succeeded").reduce((sum, r) => sum + r.amountMinor, 0);
export const disputedMinor = (facts: ProviderFacts): number =>
  facts.disputes.filter((d) => d.state !== "won").reduce((sum, d) => sum + d.amountMinor, 0);

/**
 * docs/schema.md: counted refunds and disputes take back floor(credits × counted / paid) in total, all
 * credits once the whole paid amount is back; a free order loses them all to any refund.
 */
export function clawTarget(credits: number, paidMinor: number, countedMinor: number): number {
  if (countedMinor <= 0) return 0;
  if (countedMinor >= paidMinor) return credits;
  return Math.min(credits, Math.floor((credits * countedMinor) / paidMinor));
}

/** The order's net credits (its ledger sum) its provider's facts imply: purchase less what refunds and disputes take. */
export const expectedCredits = (credits: number, facts: ProviderFacts): number =>
  credits - clawTarget(credits, facts.paidMinor ?? 0, succeededMinor(facts) + disputedMinor(facts));

/** The status the refunds imply (a dispute changes credits, not the status). */
export function expectedStatus(facts: ProviderFacts): string {
  const refunded = succeededMinor(facts);
  if (refunded > 0 && refunded >= (facts.paidMinor ?? 0)) return "refunded";
  return refunded > 0 ? "partially_refunded" : "fulfilled";
}
