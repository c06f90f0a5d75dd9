/**
 * A violating subscription explains itself like a violating order (./explain.ts): what the sandbox holds
 * (the subscription, each invoice with its status, lines, payment, refunds and disputes), every event the
 * sandbox emitted about any of them and each delivery attempt, every API call naming them, payguard's rows
 * (the subscription row, the recorded invoices, and for each grant order its payments, refunds, inbox,
 * ledger with the expiries taken from it, order_events and incidents) and one timeline of all of these.
 */
import type { BenchStack } from "../lib/stack.ts";
import {
  type DatabaseFacts,
  databaseFacts,
  type Explanation,
  type OtherExplainer,
  pick,
  type Row,
  relatedEvents,
  stripeGet,
  timeline,
} from "./explain.ts";
import type { TrackedSubscription } from "./subscriptions.ts";
import type { SandboxLogs, Trace } from "./trace.ts";

const INVOICES_PAGE = 100;

async function sandboxFacts(stack: BenchStack, subscriptionId: string, refs: Set<string>): Promise<Row> {
  const subscription = await stripeGet<Row>(stack, `/v1/subscriptions/${subscriptionId}`);
  const list = await stripeGet<{ data: Row[] }>(
    stack,
    `/v1/invoices?subscription=${subscriptionId}&limit=${INVOICES_PAGE}`,
  );
  const [{ refunds }, { disputes }] = await Promise.all([
    stack.control<{ refunds: Row[] }>("stripe/refunds"),
    stack.control<{ disputes: Row[] }>("stripe/disputes"),
  ]);
  const invoices: Array<Row & { refunds: Row[]; disputes: Row[] }> = [];
  for (const invoice of [...(list?.data ?? [])].reverse()) {
    refs.add(String(invoice.id));
    const payments = await stripeGet<{
      data: Array<{ status: string; payment: { payment_intent: string } }>;
    }>(stack, `/v1/invoice_payments?invoice=${invoice.id}`);
    const intent = payments?.data.find((p) => p.status === "paid")?.payment.payment_intent ?? null;
    if (intent) refs.add(intent);
    const of = (rows: Row[]) => rows.filter((row) => intent && row.payment_intent === intent);
    for (const row of [...of(refunds), ...of(disputes)]) refs.add(String(row.id));
    invoices.push({
      ...pick(invoice, ["id", "status", "billing_reason", "amount_paid", "created"]),
      paymentIntent: intent,
      lines: ((invoice.lines as { data: Row[] }).data ?? []).map((line) => ({
        ...pick(line, ["amount", "quantity", "period"]),
        price: (line.pricing as { price_details?: { price?: string } })?.price_details?.price ?? null,
        proration:
          (line.parent as { subscription_item_details?: { proration?: boolean } })?.subscription_item_details
            ?.proration ?? null,
      })),
      refunds: of(refunds).map((r) => pick(r, ["id", "amount", "status"])),
      disputes: of(disputes).map((d) => pick(d, ["id", "amount", "status"])),
    });
  }
  const price = (subscription?.items as { data?: Array<{ price: { id: string } }> })?.data?.[0]?.price.id;
  const line = [
    `subscription ${subscriptionId} ${subscription?.status} ${price}`,
    ...invoices.map(
      (i) =>
        `invoice ${i.id} ${i.billing_reason} ${i.status} ${i.amount_paid}` +
        [...i.refunds, ...i.disputes].map((x) => `, ${x.id} ${x.amount} ${x.status}`).join(""),
    ),
  ].join(" → ");
  return {
    subscription: subscription && pick(subscription, ["id", "status", "created"]),
    price,
    invoices,
    subscriptionLine: line,
  };
}

const unique = (rows: Row[]): Row[] => [...new Map(rows.map((row) => [JSON.stringify(row), row])).values()];

/** Every grant order's rows together, with the subscription's own. */
async function subscriptionRows(
  stack: BenchStack,
  subscriptionId: string,
  invoiceIds: string[],
  refs: string[],
  eventIds: string[],
): Promise<DatabaseFacts> {
  // With no invoice, the rows of no order: the inbox rows of the subscription's events alone.
  const orders = invoiceIds.length > 0 ? invoiceIds : [""];
  const each = await Promise.all(orders.map((id) => databaseFacts(stack, id, refs, eventIds)));
  const merged = Object.fromEntries(
    Object.keys(each[0] as DatabaseFacts).map((table) => [
      table,
      unique(each.flatMap((facts) => facts[table as keyof DatabaseFacts] ?? [])),
    ]),
  ) as DatabaseFacts;
  const rows = async (sql: string, params: unknown[]) =>
    (await stack.standIn.query<{ row: Row }>(sql, params)).map((r) => r.row);
  merged.subscriptionInvoices = await rows(
    "select to_jsonb(i) as row from payguard.subscription_invoices i where subscription_id = $1 order by recorded_at",
    [subscriptionId],
  );
  merged.ledger = unique([
    ...(merged.ledger ?? []),
    ...(await rows(
      "select to_jsonb(l) as row from payguard.credit_ledger l where expired_order_id = any($1) order by id",
      [invoiceIds],
    )),
  ]);
  merged.order = [
    ...(await rows("select to_jsonb(s) as row from payguard.subscriptions s where id = $1", [
      subscriptionId,
    ])),
    ...(merged.order ?? []),
  ];
  return merged;
}

const scenarioLine = ({ scenario: s }: TrackedSubscription): string =>
  `subscription: ${s.plan}, ${s.renewals} renewals${s.upgrade ? ", upgraded" : ""}, ${s.later.kind}` +
  `${s.later.kind === "none" ? "" : ` of invoice ${s.later.invoice}${s.later.atEnd ? " at the end" : ""}`}, ${s.ending}`;

export function subscriptionExplainer(
  stack: BenchStack,
  subs: TrackedSubscription[],
  trace: Trace,
  logs: SandboxLogs,
): OtherExplainer {
  const byKey = new Map(subs.map((sub) => [sub.key, sub]));
  return {
    has: (id) => byKey.has(id),
    async explain(key, violations, stripeEvents): Promise<Explanation> {
      const sub = byKey.get(key) as TrackedSubscription;
      const steps = trace.order(key);
      const refs = new Set(steps?.refs ?? []);
      const id = sub.subscriptionId ?? "";
      const sandbox = id ? await sandboxFacts(stack, id, refs) : { subscriptionLine: "never subscribed" };
      const events = relatedEvents(stripeEvents, id || key, refs);
      const eventIds = new Set([...(steps?.eventIds ?? []), ...events.map((event) => event.id)]);
      const invoiceIds = ((sandbox.invoices as Row[] | undefined) ?? []).map((i) => String(i.id));
      const named = [...refs].filter(Boolean);
      const explanation = {
        orderId: key,
        provider: "stripe",
        fate: scenarioLine(sub),
        userId: sub.userId,
        violations,
        sandbox,
        events,
        steps: steps?.steps ?? [],
        deliveries: logs.deliveries.filter((d) => eventIds.has(d.eventId)),
        apiCalls: logs.calls.filter((c) =>
          named.some((ref) => c.path.includes(ref) || c.query.includes(ref)),
        ),
        database: await subscriptionRows(stack, id, invoiceIds, named, [...eventIds]),
      };
      return { ...explanation, timeline: timeline(explanation) };
    },
  };
}
