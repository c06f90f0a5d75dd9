/**
 * The invariants of subscriptions after a chaos run, read from the database once the faults stopped and
 * compared with the sandbox's truth and the documented rule (./subscription-facts.ts): every paid invoice
 * recorded once and its grant order credited once with the rule's credits, no unpaid invoice granted,
 * each grant's refunds and disputes recorded and taken back as for orders, each subscriber's balance what
 * the rules imply, each subscription's status and plan the sandbox's, every invoice dispute with its
 * incident, no invoice left ungranted, and the ledger audit silent about subscribers and their grants.
 * Each violation names the subscription's key, so the run explains it (./subscription-explain.ts).
 */
import { percentile } from "../lib/measure.ts";
import type { BenchStack } from "../lib/stack.ts";
import type { Check, CheckReport } from "./checks.ts";
import { type Books, type Finding, readBooks, refundFinding } from "./fact-checks.ts";
import { expectedStatus } from "./facts.ts";
import {
  expectedBalance,
  expectedInvoiceNet,
  grants,
  type InvoiceFact,
  invoiceProviderFacts,
  readSubscriptionFacts,
  ruleCredits,
  type SubscriptionFacts,
} from "./subscription-facts.ts";
import { planOfPrice } from "./subscription-plan.ts";
import type { TrackedSubscription } from "./subscriptions.ts";

interface Recorded {
  invoice_ref: string;
  subscription_id: string;
  credits: number;
  order_id: string | null;
}

interface Grant {
  purchases: number;
  granted: number;
  rows: number;
}

/** What payguard holds about the run's subscriptions. */
interface Held {
  subscriptions: Map<string, { package_id: string; status: string }>;
  recorded: Map<string, Recorded>;
  grants: Map<string, Grant>;
  books: Map<string, Books>;
  balances: Map<string, { balance: number; ledger: number }>;
}

async function readHeld(stack: BenchStack, subs: TrackedSubscription[], invoiceIds: string[]): Promise<Held> {
  const ids = subs.flatMap((s) => (s.subscriptionId ? [s.subscriptionId] : []));
  const [rows, recorded, ledger, balances, books] = await Promise.all([
    stack.standIn.query<{ id: string; package_id: string; status: string }>(
      "select id, package_id, status from payguard.subscriptions where id = any($1)",
      [ids],
    ),
    stack.standIn.query<Recorded>(
      `select invoice_ref, subscription_id, credits::int, order_id from payguard.subscription_invoices
        where subscription_id = any($1) or invoice_ref = any($2)`,
      [ids, invoiceIds],
    ),
    stack.standIn.query<Grant & { order_id: string }>(
      `select order_id, count(*) filter (where kind = 'purchase')::int as purchases, count(*)::int as rows,
              coalesce(sum(credits) filter (where kind = 'purchase'), 0)::int as granted
         from payguard.credit_ledger where order_id = any($1) group by order_id`,
      [invoiceIds],
    ),
    stack.standIn.query<{ user_id: string; balance: number | null; ledger: number | null }>(
      `select u.user_id::text, b.credits::int as balance,
              (select sum(credits)::int from payguard.credit_ledger l where l.user_id = u.user_id) as ledger
         from unnest($1::uuid[]) as u(user_id)
         left join payguard.credit_balances b on b.user_id = u.user_id`,
      [subs.map((s) => s.userId)],
    ),
    readBooks(stack, invoiceIds),
  ]);
  return {
    subscriptions: new Map(rows.map((r) => [r.id, r])),
    recorded: new Map(recorded.map((r) => [r.invoice_ref, r])),
    grants: new Map(ledger.map((g) => [g.order_id, g])),
    books,
    balances: new Map(balances.map((b) => [b.user_id, { balance: b.balance ?? 0, ledger: b.ledger ?? 0 }])),
  };
}

interface Item {
  sub: TrackedSubscription;
  invoice?: InvoiceFact;
}

function check(name: string, items: Item[], problem: (item: Item) => Finding): Check {
  const violations: string[] = [];
  const orderIds: string[] = [];
  for (const item of items) {
    const found = problem(item);
    if (!found) continue;
    const { sub, invoice } = item;
    const about = `${sub.key} (${sub.subscriptionId ?? "never subscribed"}, ${sub.scenario.plan})`;
    violations.push(`${about}${invoice ? ` invoice ${invoice.id} ${invoice.billingReason}` : ""}: ${found}`);
    orderIds.push(sub.key);
  }
  return { name, checked: items.length, violations, orderIds: [...new Set(orderIds)] };
}

/** A paid invoice: recorded once with the rule's credits; its grant an order credited once (none when nothing is due). */
function paidFinding(held: Held, invoice: InvoiceFact): Finding {
  const row = held.recorded.get(invoice.id);
  const rule = ruleCredits(invoice);
  const grant = held.grants.get(invoice.id);
  if (!row) return "paid at the sandbox, not recorded";
  if (row.credits !== rule) return `recorded with ${row.credits} credits, the rule grants ${rule}`;
  if (!grants(invoice))
    return row.order_id || grant ? "nothing was due, yet a grant order was written" : null;
  if (row.order_id !== invoice.id) return `recorded with grant order ${row.order_id ?? "none"}`;
  if (grant?.purchases !== 1) return `${grant?.purchases ?? 0} purchase rows`;
  return grant.granted === rule ? null : `granted ${grant.granted}, the rule grants ${rule}`;
}

/** The grant's refunds and disputes: each recorded once as it ended, the order's status and net as the rules say. */
function factsFinding(held: Held, invoice: InvoiceFact): Finding {
  const books = held.books.get(invoice.id);
  if (!books) return "grant order missing";
  for (const refund of invoice.refunds) {
    const found = refundFinding(books, refund);
    if (found) return found;
  }
  for (const dispute of invoice.disputes) {
    const row = books.disputes.get(dispute.id);
    if (!row || row.state !== dispute.state || row.amountMinor !== dispute.amountMinor)
      return `dispute ${dispute.id} ${dispute.amountMinor} ${dispute.state} recorded ${row ? `${row.amountMinor} ${row.state}` : "nowhere"}`;
    if ((books.rowsByRef.get(`dispute:${dispute.id}`) ?? 0) > 1) return `dispute ${dispute.id} clawed twice`;
  }
  const status = expectedStatus(invoiceProviderFacts(invoice));
  if (books.status !== status) return `status ${books.status}, its refunds imply ${status}`;
  const net = expectedInvoiceNet(invoice);
  return books.net === net ? null : `net credits ${books.net}, its facts imply ${net}`;
}

/** Status as Stripe's, plan as the price it bills now. */
function stateFinding(held: Held, facts: SubscriptionFacts | undefined, id: string | null): Finding {
  if (!facts || !id) return "no subscription at the sandbox";
  const row = held.subscriptions.get(id);
  if (!row) return "no subscription row";
  const plan = planOfPrice(facts.priceRef)?.id;
  if (row.status !== facts.status) return `status ${row.status}, the sandbox's ${facts.status}`;
  return row.package_id === plan
    ? null
    : `plan ${row.package_id}, the sandbox bills ${plan} (${facts.priceRef})`;
}

async function incidentChecks(stack: BenchStack, paid: Item[], disputed: Item[]): Promise<Check[]> {
  const incidents = await stack.standIn.query<{ key: string; kind: string; status: string }>(
    `select key, kind, status from payguard.incidents
      where kind = 'subscription_invoice_ungranted' or key = any($1)`,
    [disputed.map(({ invoice }) => `dispute:${invoice?.id}`)],
  );
  const byKey = new Map(incidents.map((i) => [i.key, i]));
  const ungranted = incidents.filter(
    (i) => i.kind === "subscription_invoice_ungranted" && i.status === "open",
  );
  return [
    check("every invoice dispute holds its incident until won", disputed, ({ invoice }) => {
      const incident = byKey.get(`dispute:${invoice?.id}`);
      const undecided = invoice?.disputes.some((d) => d.state !== "won");
      if (!incident) return "disputed, no dispute incident";
      if (undecided && incident.status !== "open")
        return `dispute undecided or lost, its incident ${incident.status}`;
      return !undecided && incident.status === "open" ? "every dispute won, its incident still open" : null;
    }),
    {
      // Any invoice's, not only the run's: none of them names an unknown plan or user.
      name: "no paid invoice left ungranted",
      checked: paid.length,
      violations: ungranted.map((i) => `${i.key} open`),
      orderIds: paid
        .filter(({ invoice }) => ungranted.some((i) => i.key.endsWith(`:${invoice?.id}`)))
        .map(({ sub }) => sub.key),
    },
  ];
}

/** payguard's own ledger audit over the subscribers and their grant orders: it must find nothing. */
async function auditCheck(
  stack: BenchStack,
  subs: TrackedSubscription[],
  orderIds: string[],
): Promise<Check> {
  const [row] = await stack.standIn.query<{ audit: { findings: Array<{ kind: string; subject: string }> } }>(
    "select payguard.audit_subjects($1::uuid[], $2::text[], '{}') as audit",
    [subs.map((s) => s.userId), orderIds],
  );
  const findings = row?.audit.findings ?? [];
  const about = (subject: string) =>
    subs.find((s) => s.userId === subject) ?? subs.find((s) => s.paidAtMs.has(subject));
  return {
    name: "the ledger audit finds nothing about subscribers",
    checked: subs.length + orderIds.length,
    violations: findings.map((f) => `${f.kind} ${f.subject}`),
    orderIds: findings.flatMap((f) => about(f.subject)?.key ?? []),
  };
}

export async function checkSubscriptions(stack: BenchStack, subs: TrackedSubscription[]): Promise<Check[]> {
  const facts = await readSubscriptionFacts(
    stack,
    subs.flatMap((s) => (s.subscriptionId ? [s.subscriptionId] : [])),
  );
  const factsOf = (sub: TrackedSubscription) => facts.get(sub.subscriptionId ?? "");
  const invoices = subs.flatMap((sub) => (factsOf(sub)?.invoices ?? []).map((invoice) => ({ sub, invoice })));
  const held = await readHeld(
    stack,
    subs,
    invoices.map(({ invoice }) => invoice.id),
  );
  const paid = invoices.filter(({ invoice }) => invoice.status === "paid");
  const granting = paid.filter(({ invoice }) => grants(invoice));
  const disputed = granting.filter(({ invoice }) => invoice.disputes.length > 0);
  const inv = (item: Item) => item.invoice as InvoiceFact;
  const everyOne = subs.map((sub) => ({ sub }));
  return [
    check("every paid invoice recorded and granted once, by the rule", paid, (i) =>
      paidFinding(held, inv(i)),
    ),
    check(
      "no unpaid invoice granted",
      invoices.filter(({ invoice }) => invoice.status !== "paid"),
      (i) =>
        held.recorded.has(inv(i).id) || held.grants.has(inv(i).id)
          ? `${inv(i).status} at the sandbox, recorded or granted`
          : null,
    ),
    check("every invoice's credits = what its facts imply", granting, (i) => factsFinding(held, inv(i))),
    check("every subscriber's balance = what the rules imply", everyOne, ({ sub }) => {
      const books = held.balances.get(sub.userId) ?? { balance: 0, ledger: 0 };
      const expected = factsOf(sub) ? expectedBalance(factsOf(sub) as SubscriptionFacts) : 0;
      return books.balance === books.ledger && books.ledger === expected
        ? null
        : `balance ${books.balance}, ledger ${books.ledger}, the rules imply ${expected}`;
    }),
    check("every subscription's status and plan = the sandbox's", everyOne, ({ sub }) =>
      stateFinding(held, factsOf(sub), sub.subscriptionId),
    ),
    ...(await incidentChecks(stack, paid, disputed)),
    await auditCheck(
      stack,
      subs,
      granting.map(({ invoice }) => invoice.id),
    ),
  ];
}

/** paid → credited of the run's invoices, by the path that credited them (`invoice webhook`, …). */
export async function invoiceCreditLatency(
  stack: BenchStack,
  subs: TrackedSubscription[],
): Promise<CheckReport["creditLatencyByPath"]> {
  const paidAt = new Map(subs.flatMap((sub) => [...sub.paidAtMs]));
  const rows = await stack.standIn.query<{ order_id: string; at: Date; source: string }>(
    `select distinct on (order_id) order_id, at, source from payguard.order_events
      where order_id = any($1) and kind in ('paid', 'late_payment') order by order_id, at`,
    [[...paidAt.keys()]],
  );
  const byPath = new Map<string, number[]>();
  for (const row of rows) {
    const path = `invoice ${row.source}`;
    const ms = Math.max(0, row.at.getTime() - (paidAt.get(row.order_id) ?? row.at.getTime()));
    byPath.set(path, [...(byPath.get(path) ?? []), ms]);
  }
  return Object.fromEntries(
    [...byPath].map(([path, values]) => {
      values.sort((a, b) => a - b);
      const p = (q: number) => percentile(values, q);
      return [path, { count: values.length, p50Ms: p(50), p95Ms: p(95), maxMs: values.at(-1) ?? 0 }];
    }),
  );
}
