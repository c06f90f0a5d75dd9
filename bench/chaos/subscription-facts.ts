/**
 * What the sandbox says happened to each subscription, read once after the run (faults off): its status
 * and price, every invoice with its status, lines, payment and that payment's refunds and disputes; and
 * what those facts imply under docs/subscriptions.md, computed here on their own so the checks compare
 * payguard's books with the documented rule, not with payguard's arithmetic: the credits an invoice grants
 * (full-period lines the plan's credits, prorations `credits × amount / price` summed and rounded down
 * once), what refunds and disputes take back (./facts.ts, as for orders), and each subscriber's balance
 * (`reset`: an ended period keeps nothing once a later period's invoice is granted, whatever its refunds).
 */
import type { BenchStack } from "../lib/stack.ts";
import { expectedCredits, type ProviderDispute, type ProviderFacts, type ProviderRefund } from "./facts.ts";
import { stripeApi } from "./subscription-calls.ts";
import { planOfPrice } from "./subscription-plan.ts";

const LIST_PAGE = 100;

export interface InvoiceLineFact {
  priceRef: string | null;
  amountMinor: number;
  quantity: number;
  proration: boolean;
  startS: number;
  endS: number;
}

export interface InvoiceFact {
  id: string;
  status: string;
  billingReason: string;
  amountPaid: number;
  lines: InvoiceLineFact[];
  /** The PaymentIntent of its paid invoice payment (null: unpaid, or nothing was due). */
  paymentIntent: string | null;
  refunds: ProviderRefund[];
  disputes: ProviderDispute[];
}

export interface SubscriptionFacts {
  id: string;
  status: string;
  priceRef: string | null;
  /** Oldest first. */
  invoices: InvoiceFact[];
}

type Row = Record<string, unknown>;

/** Every object of a `/v1` list, oldest first. */
async function listAll(stack: BenchStack, path: string): Promise<Row[]> {
  const all: Row[] = [];
  for (let after = ""; ; ) {
    const page = await stripeApi(
      stack,
      "GET",
      `${path}?limit=${LIST_PAGE}${after && `&starting_after=${after}`}`,
    );
    const data = page.data as Row[];
    all.push(...data);
    if (!page.has_more || data.length === 0) return all.reverse();
    after = String(data.at(-1)?.id);
  }
}

function lineOf(line: Row): InvoiceLineFact {
  const pricing = (line.pricing as { price_details?: { price?: string } } | undefined)?.price_details;
  const details = (line.parent as { subscription_item_details?: { proration?: boolean } } | undefined)
    ?.subscription_item_details;
  const period = line.period as { start: number; end: number };
  return {
    priceRef: pricing?.price ?? null,
    amountMinor: Number(line.amount),
    quantity: Number(line.quantity ?? 1),
    proration: details?.proration === true,
    startS: period.start,
    endS: period.end,
  };
}

const refundEnd = (status: unknown): ProviderRefund["status"] =>
  status === "succeeded" || status === "failed" ? status : "other";
const disputeState = (status: unknown): ProviderDispute["state"] =>
  status === "won" || status === "lost" ? status : "open";

export async function readSubscriptionFacts(
  stack: BenchStack,
  subscriptionIds: string[],
): Promise<Map<string, SubscriptionFacts>> {
  const ours = new Set(subscriptionIds);
  const [{ subscriptions }, invoices, payments, { refunds }, { disputes }] = await Promise.all([
    stack.control<{ subscriptions: Row[] }>("stripe/subscriptions"),
    listAll(stack, "/v1/invoices"),
    listAll(stack, "/v1/invoice_payments"),
    stack.control<{ refunds: Row[] }>("stripe/refunds"),
    stack.control<{ disputes: Row[] }>("stripe/disputes"),
  ]);
  const intentOf = new Map(
    payments
      .filter((p) => p.status === "paid")
      .map((p) => [String(p.invoice), (p.payment as { payment_intent: string }).payment_intent]),
  );
  const facts = new Map<string, SubscriptionFacts>();
  for (const s of subscriptions) {
    if (!ours.has(String(s.id))) continue;
    const [item] = (s.items as { data: Array<{ price: { id: string } }> }).data;
    facts.set(String(s.id), {
      id: String(s.id),
      status: String(s.status),
      priceRef: item?.price.id ?? null,
      invoices: [],
    });
  }
  const byIntent = new Map<string, InvoiceFact>();
  for (const invoice of invoices) {
    const sub = (invoice.parent as { subscription_details?: { subscription?: string } } | null)
      ?.subscription_details?.subscription;
    const holder = facts.get(String(sub));
    if (!holder) continue;
    const fact: InvoiceFact = {
      id: String(invoice.id),
      status: String(invoice.status),
      billingReason: String(invoice.billing_reason),
      amountPaid: Number(invoice.amount_paid),
      lines: ((invoice.lines as { data: Row[] }).data ?? []).map(lineOf),
      paymentIntent: intentOf.get(String(invoice.id)) ?? null,
      refunds: [],
      disputes: [],
    };
    holder.invoices.push(fact);
    if (fact.paymentIntent) byIntent.set(fact.paymentIntent, fact);
  }
  for (const r of refunds)
    byIntent.get(String(r.payment_intent))?.refunds.push({
      id: String(r.id),
      amountMinor: Number(r.amount),
      status: refundEnd(r.status),
    });
  for (const d of disputes)
    byIntent.get(String(d.payment_intent))?.disputes.push({
      id: String(d.id),
      amountMinor: Number(d.amount),
      state: disputeState(d.status),
    });
  return facts;
}

const floorDiv = (n: bigint, d: bigint): bigint => (n >= 0n ? n / d : -((-n + d - 1n) / d));

/** The credits the rule grants for an invoice's lines, in exact arithmetic (prorations rounded down once). */
export function ruleCredits(invoice: InvoiceFact): number {
  const plans = invoice.lines.map((line) => planOfPrice(line.priceRef));
  // Every proration over one denominator: the product of the plans' prices.
  const denominator = plans.reduce((d, plan) => d * BigInt(plan?.amountMinor ?? 1), 1n);
  let full = 0;
  let prorated = 0n;
  invoice.lines.forEach((line, i) => {
    const plan = plans[i];
    if (!plan) return;
    if (!line.proration) full += plan.credits * line.quantity;
    else
      prorated += (BigInt(plan.credits) * BigInt(line.amountMinor) * denominator) / BigInt(plan.amountMinor);
  });
  return Math.max(0, full + Number(floorDiv(prorated, denominator)));
}

/** Paid with something due and credits by the rule: an order of its own holds the grant. */
export const grants = (invoice: InvoiceFact): boolean =>
  invoice.status === "paid" && invoice.amountPaid > 0 && ruleCredits(invoice) > 0;

/** The service period it bills: its full-period lines', else its prorations'. */
export function periodOf(invoice: InvoiceFact): { startS: number; endS: number } {
  const full = invoice.lines.filter((line) => !line.proration);
  const lines = full.length > 0 ? full : invoice.lines;
  return {
    startS: Math.min(...lines.map((line) => line.startS)),
    endS: Math.max(...lines.map((line) => line.endS)),
  };
}

export const invoiceProviderFacts = (invoice: InvoiceFact): ProviderFacts => ({
  paidMinor: invoice.amountPaid,
  refunds: invoice.refunds,
  disputes: invoice.disputes,
});

/** The grant's net credits its payment's refunds and disputes imply (its order's ledger sum). */
export const expectedInvoiceNet = (invoice: InvoiceFact): number =>
  expectedCredits(ruleCredits(invoice), invoiceProviderFacts(invoice));

/** The plan whose policy the grant follows: its full-period line's, else its largest line's. */
function policyOf(invoice: InvoiceFact): string | undefined {
  const full = invoice.lines.find((line) => !line.proration);
  const largest = [...invoice.lines].sort((a, b) => b.amountMinor - a.amountMinor)[0];
  return planOfPrice((full ?? largest)?.priceRef ?? null)?.expiry;
}

/** A later period's invoice was granted: a `reset` grant of this period keeps nothing. */
const ended = (invoice: InvoiceFact, all: InvoiceFact[]): boolean =>
  all.some(
    (later) =>
      later.billingReason === "subscription_cycle" &&
      grants(later) &&
      periodOf(later).startS >= periodOf(invoice).endS,
  );

/** The subscriber's balance the rules imply: every grant's net, but nothing of an ended `reset` period. */
export function expectedBalance(sub: SubscriptionFacts): number {
  return sub.invoices
    .filter(grants)
    .filter((invoice) => !(policyOf(invoice) === "reset" && ended(invoice, sub.invoices)))
    .reduce((sum, invoice) => sum + expectedInvoiceNet(invoice), 0);
}
