/**
 * One simulated subscription, as its scenario says (./subscription-plan.ts): the user subscribes through
 * payguard's checkout and pays at the sandbox; the sandbox renews it period by period (some renewals
 * declined, then paid by a retry; the last one left unpaid for some), changes basic to pro mid-period with
 * a prorated invoice, refunds or disputes one invoice once it is credited or after the last renewal, decides
 * the dispute weeks later, and cancels it or leaves it running. Every event goes through the sandbox's
 * fault-injected delivery queue to the worker, as the orders' do; every step goes into the trace under the
 * subscription's key.
 */
import type { BenchStack } from "../lib/stack.ts";
import { sleep, userIdFor, waitForCredit, weeksPass } from "./orders.ts";
import { nextSecond, sandboxStep, stripeApi, subscribeCheckout } from "./subscription-calls.ts";
import { CHAOS_PLANS, type ChaosPlan, type SubscriptionScenario } from "./subscription-plan.ts";
import type { Trace } from "./trace.ts";

export interface TrackedSubscription {
  scenario: SubscriptionScenario;
  /** The run's name for it (trace, violations), known before the sandbox names the subscription. */
  key: string;
  userId: string;
  subscriptionId: string | null;
  /** When each invoice the run had paid was paid, by invoice id (for paid → credited). */
  paidAtMs: Map<string, number>;
}

/** What the run made happen to subscriptions, for the fault counts. */
export interface SubscriptionCounts {
  subscribed: number;
  renewals: number;
  declinedRenewals: number;
  paidOnRetry: number;
  leftUnpaid: number;
  upgrades: number;
  refunds: number;
  disputesOpened: number;
  disputesWon: number;
  disputesLost: number;
  canceled: number;
  /** Refunds or disputes not made: their invoice was not credited in time. */
  laterFactsSkipped: number;
  /** Stories cut short by a step the sandbox or payguard refused (the checks still hold the rest). */
  stoppedEarly: number;
}

export const newSubscriptionCounts = (): SubscriptionCounts => ({
  subscribed: 0,
  renewals: 0,
  declinedRenewals: 0,
  paidOnRetry: 0,
  leftUnpaid: 0,
  upgrades: 0,
  refunds: 0,
  disputesOpened: 0,
  disputesWon: 0,
  disputesLost: 0,
  canceled: 0,
  laterFactsSkipped: 0,
  stoppedEarly: 0,
});

interface Story {
  stack: BenchStack;
  sub: TrackedSubscription;
  trace: Trace;
  counts: SubscriptionCounts;
  /** The plan billing the subscription now (basic until it changes to pro). */
  plan: ChaosPlan;
  /** Full-period invoices paid so far, in order, with what each cost. */
  invoices: Array<{ id: string; amountMinor: number }>;
  /** The dispute opened, to decide at the end. */
  dispute: { id: string; invoiceId: string } | null;
  /** Waits for the run's next billing step (./subscription-calls.ts createPacer). */
  pace: () => Promise<void>;
}

const subscriptionId = (story: Story): string => story.sub.subscriptionId as string;

function step(story: Story, path: string, body: Record<string, unknown>) {
  return sandboxStep(story.stack, story.trace, story.sub.key, path, body);
}

async function subscribe(story: Story): Promise<void> {
  const { stack, sub } = story;
  const checkoutMs = Date.now();
  const { sessionId, attempts } = await subscribeCheckout(
    stack,
    sub.userId,
    story.plan,
    `chaos-subscribe-${sub.key}`,
  );
  const tookMs = Date.now() - checkoutMs;
  story.trace.step(
    sub.key,
    "subscribe checkout",
    { sessionId, plan: story.plan.id, attempts, tookMs },
    checkoutMs,
  );
  await story.pace();
  const paidAtMs = Date.now();
  const paid = await step(story, "stripe/pay", { orderId: sub.key, sessionId });
  sub.subscriptionId = String(paid.subscriptionId);
  sub.paidAtMs.set(String(paid.invoiceId), paidAtMs);
  story.invoices.push({ id: String(paid.invoiceId), amountMinor: story.plan.amountMinor });
  story.counts.subscribed += 1;
}

/** One renewal: paid; or declined and collected again a second later; or (the last, for some) left unpaid. */
async function renew(story: Story, renewal: number): Promise<void> {
  const { scenario } = story.sub;
  const unpaid = renewal === scenario.renewals && scenario.ending === "unpaid_canceled";
  const declined = unpaid || scenario.declinedFirst[renewal - 1] === true;
  await story.pace();
  const startedMs = Date.now();
  const renewed = await step(story, "stripe/subscription/renew", {
    subscriptionId: subscriptionId(story),
    outcome: declined ? "failed" : "paid",
  });
  story.counts.renewals += 1;
  const invoiceId = String(renewed.invoiceId);
  if (declined) story.counts.declinedRenewals += 1;
  if (unpaid) {
    story.counts.leftUnpaid += 1;
    return;
  }
  let paidAtMs = startedMs;
  if (declined) {
    await nextSecond();
    await story.pace();
    paidAtMs = Date.now();
    await step(story, "stripe/invoice/pay", { invoiceId });
    story.counts.paidOnRetry += 1;
  }
  story.sub.paidAtMs.set(invoiceId, paidAtMs);
  story.invoices.push({ id: invoiceId, amountMinor: story.plan.amountMinor });
}

/** basic → pro at a share of the current period, prorated and invoiced at once (`always_invoice`). */
async function upgrade(story: Story, periodShare: number): Promise<void> {
  const { stack, sub } = story;
  await nextSecond();
  const path = `/v1/subscriptions/${subscriptionId(story)}`;
  const current = await stripeApi(stack, "GET", path);
  const [item] = (current.items as { data: Array<Record<string, number | string>> }).data;
  const startS = Number(item?.current_period_start);
  const prorationDate = Math.floor(startS + periodShare * (Number(item?.current_period_end) - startS));
  const to = CHAOS_PLANS.pro;
  await story.pace();
  const startedMs = Date.now();
  const updated = await stripeApi(
    stack,
    "POST",
    path,
    {
      "items[0][id]": String(item?.id),
      "items[0][price]": to.priceRef,
      proration_behavior: "always_invoice",
      proration_date: String(prorationDate),
    },
    `chaos-upgrade-${sub.key}`,
  );
  const invoiceId = String(updated.latest_invoice);
  sub.paidAtMs.set(invoiceId, startedMs);
  story.trace.step(
    sub.key,
    "plan changed",
    { invoiceId, from: story.plan.id, to: to.id, prorationDate },
    startedMs,
  );
  story.plan = to;
  story.counts.upgrades += 1;
}

/** A refund (whole or half) or a chargeback of one paid full-period invoice, once it is credited. */
async function laterFact(story: Story, invoice: { id: string; amountMinor: number }): Promise<void> {
  const { stack, sub, counts } = story;
  const { later } = sub.scenario;
  const invoiceId = invoice.id;
  if (!(await waitForCredit(stack, invoiceId))) {
    counts.laterFactsSkipped += 1;
    story.trace.step(sub.key, "later fact skipped: invoice not credited in time", { invoiceId });
    return;
  }
  const amountMinor = later.whole ? invoice.amountMinor : Math.floor(invoice.amountMinor / 2);
  if (later.kind === "refund") {
    await step(story, "stripe/refund", { invoiceId, amountMinor });
    counts.refunds += 1;
    return;
  }
  const opened = await step(story, "stripe/dispute", { invoiceId, amountMinor });
  story.dispute = { id: String(opened.disputeId), invoiceId };
  counts.disputesOpened += 1;
}

/** The bank decides weeks after the dispute opened: after the last renewal, once its incident is raised. */
async function decideDispute(story: Story): Promise<void> {
  const outcome = story.sub.scenario.later.disputeOutcome;
  if (!story.dispute || outcome === "open") return;
  const { id: disputeId, invoiceId } = story.dispute;
  await step(story, "stripe/dispute/move", { disputeId, step: "respond" });
  await weeksPass(story.stack, invoiceId, story.trace, story.sub.key);
  await step(story, "stripe/dispute/move", { disputeId, step: outcome });
  if (outcome === "won") story.counts.disputesWon += 1;
  else story.counts.disputesLost += 1;
}

/** After each paid full-period invoice: its refund or dispute (unless that waits for the end), then the plan change. */
async function afterPaid(story: Story): Promise<void> {
  const { later, upgrade: change, stepDelayMs } = story.sub.scenario;
  const paid = story.invoices.length - 1;
  if (later.kind !== "none" && !later.atEnd && later.invoice === paid)
    await laterFact(story, story.invoices[paid] as Story["invoices"][number]);
  if (change?.afterInvoice === paid) await upgrade(story, change.periodShare);
  await sleep(stepDelayMs);
}

async function tell(story: Story): Promise<void> {
  const { scenario } = story.sub;
  await subscribe(story);
  await afterPaid(story);
  for (let renewal = 1; renewal <= scenario.renewals; renewal += 1) {
    const paidBefore = story.invoices.length;
    await renew(story, renewal);
    if (story.invoices.length > paidBefore) await afterPaid(story);
  }
  const { later } = scenario;
  const target = story.invoices[later.invoice];
  if (later.kind !== "none" && later.atEnd && target) await laterFact(story, target);
  await decideDispute(story);
  if (scenario.ending === "active") return;
  await nextSecond();
  await stripeApi(story.stack, "DELETE", `/v1/subscriptions/${subscriptionId(story)}`);
  story.trace.step(story.sub.key, "subscription canceled", { subscriptionId: subscriptionId(story) });
  story.counts.canceled += 1;
}

export async function runSubscription(
  stack: BenchStack,
  seed: number,
  scenario: SubscriptionScenario,
  trace: Trace,
  counts: SubscriptionCounts,
  pace: () => Promise<void>,
): Promise<TrackedSubscription> {
  const key = `chaos_sub_${scenario.index}`;
  const sub: TrackedSubscription = {
    scenario,
    key,
    userId: userIdFor(seed, `subscriber ${scenario.index}`),
    subscriptionId: null,
    paidAtMs: new Map(),
  };
  trace.step(key, "scenario", { ...scenario, userId: sub.userId });
  const story: Story = {
    stack,
    sub,
    trace,
    counts,
    plan: CHAOS_PLANS[scenario.plan],
    invoices: [],
    dispute: null,
    pace,
  };
  try {
    await tell(story);
  } catch (error) {
    // What did happen is the sandbox's truth, which the checks compare payguard with; the rest is skipped.
    counts.stoppedEarly += 1;
    trace.step(key, "story stopped", { error: (error as Error).message });
  }
  return sub;
}
