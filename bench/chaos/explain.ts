/**
 * A chaos violation explains itself: for each violating order, what the sandbox holds about it (sessions,
 * payment intents, charges, refunds and disputes with their states; WeChat's trade state and refunds), every event the
 * provider emitted about it and every delivery attempt of those with its answer and time, every API call
 * naming it, its database rows (order, payments, refunds and failures, held facts, inbox rows, ledger,
 * order_events, incidents and what an incident outbox or dispute table holds for it) and one timeline of
 * all of these. Also the run's context a missing fact usually hides in: the Stripe backfill's every run
 * (cursor, listed, complete) and how complete the copied sandbox logs are. Read only, after the checks.
 */
import type { BenchStack } from "../lib/stack.ts";
import type { CheckReport } from "./checks.ts";
import type { Tracked } from "./orders.ts";
import type { ApiCall, Delivery, SandboxLogs, Step, Trace } from "./trace.ts";

/** Orders explained in full per run; a check failing for thousands says enough with its first ones. */
export const EXPLAINED_ORDERS_MAX = 20;
const STRIPE_EVENTS_PAGE = 100;
const STRIPE_EVENT_PAGES_MAX = 500;

export type Row = Record<string, unknown>;

export interface Explanation {
  orderId: string;
  provider: string;
  fate: string;
  userId: string;
  violations: string[];
  sandbox: Row;
  events: StripeEventSummary[];
  steps: Step[];
  deliveries: Delivery[];
  apiCalls: ApiCall[];
  database: DatabaseFacts;
  timeline: string[];
}

const TABLES = {
  order: "payment_orders",
  payments: "order_payments",
  refunds: "payment_refunds",
  refundFailures: "refund_failures",
  heldFacts: "held_facts",
  inbox: "webhook_events",
  ledger: "credit_ledger",
  orderEvents: "order_events",
  incidents: "incidents",
  incidentOutbox: "incident_outbox",
  disputes: "payment_disputes",
} as const;

/** A subscription's explanation adds its row and its recorded invoices (./subscription-explain.ts). */
export type DatabaseFacts = Record<keyof typeof TABLES, Row[]> & { subscriptionInvoices?: Row[] };

/** Explains what a check named that is not an order of the run (a subscription's key). */
export interface OtherExplainer {
  has(id: string): boolean;
  explain(id: string, violations: string[], stripeEvents: StripeEvents): Promise<Explanation>;
}

export interface ViolationReport {
  run: Row;
  explained: Explanation[];
  /** Violating orders left out past EXPLAINED_ORDERS_MAX. */
  notExplained: number;
}

interface StripeEventSummary {
  id: string;
  type: string;
  created: number;
  object: string | null;
  status: string | null;
}

interface StripeObject {
  id?: string;
  status?: string;
  payment_intent?: string | { id: string } | null;
  client_reference_id?: string | null;
  metadata?: Record<string, string> | null;
}

const idOf = (value: unknown): string | null =>
  typeof value === "string" ? value : ((value as { id?: string } | null)?.id ?? null);

export async function stripeGet<T>(stack: BenchStack, path: string): Promise<T | null> {
  const answer = await fetch(`${stack.sandbox.url}${path}`, {
    headers: { authorization: `Bearer ${stack.sandbox.stripe.secretKey}` },
  }).catch(() => null);
  return answer?.ok ? ((await answer.json()) as T) : null;
}

/** Every Stripe event the sandbox holds, newest first (read once, and only when a Stripe order is explained). */
async function allStripeEvents(stack: BenchStack) {
  const events: Array<{ id: string; type: string; created: number; data: { object: StripeObject } }> = [];
  let after = "";
  for (let page = 0; page < STRIPE_EVENT_PAGES_MAX; page += 1) {
    const list = await stripeGet<{ data: typeof events; has_more: boolean }>(
      stack,
      `/v1/events?limit=${STRIPE_EVENTS_PAGE}${after && `&starting_after=${after}`}`,
    );
    if (!list) break;
    events.push(...list.data);
    if (!list.has_more || list.data.length === 0) break;
    after = list.data.at(-1)?.id ?? "";
  }
  return events;
}

/** The Stripe objects of one order, from its Checkout Sessions down to each refund; adds their ids to `refs`. */
async function stripeFacts(stack: BenchStack, orderId: string, refs: Set<string>): Promise<Row> {
  const { sessions } = await stack.control<{ sessions: Row[] }>(
    `stripe/sessions?orderId=${encodeURIComponent(orderId)}`,
  );
  const intents: Row[] = [];
  const charges: Row[] = [];
  for (const session of sessions) {
    refs.add(String(session.id));
    const intentId = idOf(session.payment_intent);
    if (!intentId) continue;
    refs.add(intentId);
    const intent = await stripeGet<Row>(stack, `/v1/payment_intents/${intentId}`);
    if (intent)
      intents.push(pick(intent, ["id", "status", "amount", "currency", "created", "latest_charge"]));
    const chargeId = idOf(intent?.latest_charge);
    const charge = chargeId ? await stripeGet<Row>(stack, `/v1/charges/${chargeId}`) : null;
    if (!charge) continue;
    refs.add(String(charge.id));
    const refunds = ((charge.refunds as { data?: Row[] } | undefined)?.data ?? []).map((refund) => {
      refs.add(String(refund.id));
      return pick(refund, ["id", "amount", "status", "created"]);
    });
    charges.push({ ...pick(charge, ["id", "amount", "amount_refunded", "refunded"]), refunds });
  }
  const sessionRows = sessions.map((s) =>
    pick(s, ["id", "status", "payment_status", "amount_total", "currency", "payment_intent", "expires_at"]),
  );
  const intentIds = new Set(intents.map((intent) => String(intent.id)));
  const disputes = (await stack.control<{ disputes: Row[] }>("stripe/disputes")).disputes
    .filter((d) => intentIds.has(String(d.payment_intent)))
    .map((d) => {
      refs.add(String(d.id));
      return pick(d, ["id", "amount", "status", "created"]);
    });
  return { sessions: sessionRows, paymentIntents: intents, charges, disputes };
}

export type StripeEvents = Awaited<ReturnType<typeof allStripeEvents>>;

export const pick = (row: Row, keys: string[]): Row =>
  Object.fromEntries(keys.map((key) => [key, row[key] ?? null]));

export function relatedEvents(
  events: StripeEvents,
  orderId: string,
  refs: Set<string>,
): StripeEventSummary[] {
  return events
    .filter(({ data: { object } }) =>
      [object.id, idOf(object.payment_intent), object.client_reference_id, object.metadata?.order_id].some(
        (ref) => ref && (ref === orderId || refs.has(ref)),
      ),
    )
    .map((event) => ({
      id: event.id,
      type: event.type,
      created: event.created,
      object: event.data.object.id ?? null,
      status: event.data.object.status ?? null,
    }))
    .reverse();
}

/** The order's rows in every table that can hold a fact about it; tables a schema lacks are left out. */
export async function databaseFacts(
  stack: BenchStack,
  orderId: string,
  refs: string[],
  eventIds: string[],
): Promise<DatabaseFacts> {
  const [present] = await stack.standIn.query<{ tables: string[] }>(
    "select array_agg(tablename::text) as tables from pg_tables where schemaname = 'payguard'",
  );
  const rows = async (
    table: (typeof TABLES)[keyof typeof TABLES],
    where: string,
    order: string,
  ): Promise<Row[]> => {
    if (!present?.tables.includes(table)) return [];
    const found = await stack.standIn.query<{ row: Row }>(
      `with p as (select $1::text as the_order, $2::text[] as the_refs, $3::text[] as the_events)
       select to_jsonb(t) as row from payguard.${table} t, p where ${where} order by ${order}`,
      [orderId, refs, eventIds],
    );
    return found.map((r) => r.row);
  };
  const payments = "(select payment_ref from payguard.order_payments where order_id = p.the_order)";
  return {
    order: await rows("payment_orders", "id = p.the_order", "id"),
    payments: await rows("order_payments", "order_id = p.the_order", "recorded_at"),
    refunds: await rows(
      "payment_refunds",
      `order_id = p.the_order or payment_ref in ${payments}`,
      "applied_at",
    ),
    refundFailures: await rows("refund_failures", "refund_ref = any(p.the_refs)", "failed_at"),
    heldFacts: await rows(
      "held_facts",
      `order_id = p.the_order or payment_ref = any(p.the_refs) or fact_ref = any(p.the_refs) or payment_ref in ${payments}`,
      "held_at",
    ),
    inbox: await rows(
      "webhook_events",
      "order_id = p.the_order or event_id = any(p.the_events)",
      "received_at",
    ),
    ledger: await rows("credit_ledger", "order_id = p.the_order", "id"),
    orderEvents: await rows("order_events", "order_id = p.the_order", "at, id"),
    incidents: await rows(
      "incidents",
      "detail->>'order_id' = p.the_order or key like '%' || p.the_order || '%'",
      "opened_at, id",
    ),
    incidentOutbox: await rows(
      "incident_outbox",
      "detail->>'order_id' = p.the_order or key like '%' || p.the_order || '%'",
      "id",
    ),
    disputes: await rows("payment_disputes", "order_id = p.the_order", "opened_at"),
  };
}

const ms = (value: unknown): number => (typeof value === "number" ? value : Date.parse(String(value)));
const short = (value: unknown): string => JSON.stringify(value).slice(0, 160);

/** Everything above as one list in time order, each line stamped relative to the order's first step. */
export function timeline(e: Omit<Explanation, "timeline">): string[] {
  const lines: Array<[number, string]> = [];
  const add = (at: unknown, text: string) => {
    if (at !== null && at !== undefined && Number.isFinite(ms(at))) lines.push([ms(at), text]);
  };
  for (const s of e.steps) add(s.atMs, `chaos     ${s.step} ${short(s.detail)}`);
  for (const ev of e.events)
    add(ev.created * 1000, `provider  ${ev.id} ${ev.type} (${ev.object} ${ev.status})`);
  for (const d of e.deliveries)
    add(
      d.atMs,
      `deliver   ${d.eventId} ${d.eventType} #${d.attempt}${d.fault ? ` [${d.fault}]` : ""} → ${d.status}` +
        (d.answeredAtMs === undefined ? "" : ` after ${d.answeredAtMs - d.atMs} ms`),
    );
  for (const c of e.apiCalls)
    add(
      c.atMs,
      `api       ${c.method} ${c.path}${c.query && `?${c.query}`}${c.fault ? ` [${c.fault}]` : ""} → ${c.status}`,
    );
  const db = e.database;
  for (const w of db.inbox) {
    add(
      w.received_at,
      `inbox     ${w.event_id} ${w.event_type} received (order ${w.order_id}, attempts ${w.attempts})`,
    );
    add(
      w.finished_at,
      `inbox     ${w.event_id} finished ${w.status}${w.last_error ? `: ${w.last_error}` : ""}`,
    );
  }
  for (const h of db.heldFacts)
    add(h.held_at, `held      ${h.kind} ${h.fact_ref} (payment ${h.payment_ref}) ${short(h.fact)}`);
  for (const r of db.refunds)
    add(
      r.applied_at,
      `refund    ${r.refund_ref} ${r.amount_minor} ${r.status} payment ${r.payment_ref} clawed ${r.credits_clawed_back}`,
    );
  for (const f of db.refundFailures) add(f.failed_at, `refund    ${f.refund_ref} failure recorded`);
  for (const l of db.ledger)
    add(
      l.created_at,
      `ledger    ${l.kind} ${l.credits}${l.refund_ref ? ` (${l.refund_ref})` : ""}` +
        `${l.expired_order_id ? ` of ${l.expired_order_id}` : ""}${l.note ? ` ${l.note}` : ""}`,
    );
  for (const i of db.subscriptionInvoices ?? [])
    add(
      i.recorded_at,
      `invoice   ${i.invoice_ref} recorded (${i.billing_reason}): ${i.credits} credits by ${i.rule}, order ${i.order_id}`,
    );
  for (const o of db.orderEvents) add(o.at, `order     ${o.kind} (${o.source}) ${short(o.detail)}`);
  for (const i of db.incidents) {
    add(i.opened_at, `incident  ${i.key} opened (${i.kind}, ${i.severity}, seen ${i.occurrences}×)`);
    add(i.resolved_at, `incident  ${i.key} resolved`);
  }
  for (const x of db.incidentOutbox) add(x.created_at, `outbox    ${x.action} ${x.key}`);
  const start = Math.min(...lines.map(([at]) => at));
  return lines
    .sort((a, b) => a[0] - b[0])
    .map(
      ([at, text]) =>
        `+${String(at - start).padStart(7)} ms  ${new Date(at).toISOString().slice(11, 23)}  ${text}`,
    );
}

/** The run-wide facts a missing refund or payment usually hides in. */
async function runContext(stack: BenchStack, logs: SandboxLogs): Promise<Row> {
  const cursors = await stack.standIn.query<Row>("select name, value, updated_at from payguard.sync_cursors");
  const backfill = await stack.standIn.query<Row>(
    `select job, status, started_at, finished_at, detail->'backfill' as backfill from payguard.job_runs
      where detail ? 'backfill' order by started_at`,
  );
  return {
    syncCursors: cursors,
    stripeBackfillRuns: backfill,
    sandboxLogs: {
      deliveries: logs.deliveries.length,
      calls: logs.calls.length,
      missed: logs.missed,
    },
  };
}

export async function explainViolations(
  stack: BenchStack,
  tracked: Tracked[],
  checks: CheckReport,
  trace: Trace,
  logs: SandboxLogs,
  others: OtherExplainer = { has: () => false, explain: () => Promise.reject(new Error("none")) },
): Promise<ViolationReport> {
  const violationsByOrder = violationsOf(checks);
  const byId = new Map(tracked.map((order) => [order.orderId, order]));
  const chosen = [...violationsByOrder.keys()]
    .filter((id) => byId.has(id) || others.has(id))
    .slice(0, EXPLAINED_ORDERS_MAX);
  const stripeEvents = chosen.some((id) => byId.get(id)?.plan.provider !== "wechatpay")
    ? await allStripeEvents(stack)
    : [];
  const explained: Explanation[] = [];
  for (const orderId of chosen) {
    const order = byId.get(orderId);
    if (!order) {
      explained.push(await others.explain(orderId, violationsByOrder.get(orderId) ?? [], stripeEvents));
      continue;
    }
    const steps = trace.order(orderId);
    const refs = new Set(steps?.refs ?? []);
    const sandbox =
      order.plan.provider === "stripe"
        ? await stripeFacts(stack, orderId, refs)
        : {
            wechatOrder:
              (await stack.control<{ orders: Row[] }>("wechat/orders")).orders.find(
                (o) => o.outTradeNo === orderId,
              ) ?? null,
            wechatRefunds: (await stack.control<{ refunds: Row[] }>("wechat/refunds")).refunds.filter(
              (r) => r.outTradeNo === orderId,
            ),
          };
    if (typeof sandbox.wechatOrder === "object" && sandbox.wechatOrder)
      refs.add(String((sandbox.wechatOrder as Row).transactionId ?? ""));
    const events = relatedEvents(stripeEvents, orderId, refs);
    const eventIds = new Set([...(steps?.eventIds ?? []), ...events.map((ev) => ev.id)]);
    const named = [orderId, ...refs].filter(Boolean);
    const explanation = {
      orderId,
      provider: order.plan.provider,
      fate: order.plan.fate,
      userId: order.userId,
      violations: violationsByOrder.get(orderId) ?? [],
      sandbox,
      events,
      steps: steps?.steps ?? [],
      deliveries: logs.deliveries.filter((d) => eventIds.has(d.eventId)),
      apiCalls: logs.calls.filter((c) => named.some((ref) => c.path.includes(ref) || c.query.includes(ref))),
      database: await databaseFacts(stack, orderId, [...refs], [...eventIds]),
    };
    explained.push({ ...explanation, timeline: timeline(explanation) });
  }
  return {
    run: await runContext(stack, logs),
    explained,
    notExplained: violationsByOrder.size - chosen.length,
  };
}

/** How many timeline lines of each order the console shows; the JSON file has them all. */
const TIMELINE_LINES_SHOWN = 60;

/** The sandbox's facts in one line: session → payment intent → charge → each refund, or WeChat's trade. */
function sandboxLine(sandbox: Row): string {
  if ("subscriptionLine" in sandbox) return String(sandbox.subscriptionLine);
  if ("wechatOrder" in sandbox) {
    const o = sandbox.wechatOrder as Row | null;
    const refunds = ((sandbox.wechatRefunds as Row[] | undefined) ?? []).map(
      (r) => `, refund ${r.refundId} (${r.outRefundNo}) ${r.amountMinor} ${r.status}`,
    );
    return o
      ? `WeChat order ${o.tradeState}, ${o.amountMinor}, transaction ${o.transactionId ?? "none"}${refunds.join("")}`
      : "no WeChat order";
  }
  const sessions = (sandbox.sessions as Row[]).map((x) => `session ${x.id} ${x.status}/${x.payment_status}`);
  const intents = (sandbox.paymentIntents as Row[]).map((x) => `${x.id} ${x.status} ${x.amount}`);
  const charges = (sandbox.charges as Row[]).map(
    (c) =>
      `${c.id} refunded ${c.amount_refunded}/${c.amount}` +
      (c.refunds as Row[]).map((r) => `, refund ${r.id} ${r.amount} ${r.status}`).join(""),
  );
  const disputes = ((sandbox.disputes as Row[] | undefined) ?? []).map(
    (d) => `dispute ${d.id} ${d.amount} ${d.status}`,
  );
  return [...sessions, ...intents, ...charges, ...disputes].join(" → ") || "no Checkout Session";
}

const CLOCKS =
  "times: chaos/deliver/api = this process's clock; inbox/order/ledger/incident = the worker's `now` " +
  "(workerd advances it only across I/O); provider = the event's `created` (whole seconds)";

const backfillLine = (run: Row): string => {
  const b = (run.backfill ?? {}) as Row;
  const cursor = typeof b.cursor === "number" ? new Date(b.cursor * 1000).toISOString() : "none";
  return (
    `${new Date(String(run.started_at)).toISOString()} ${run.status}: cursor ${cursor}, listed ${b.listed}` +
    ` (${b.complete ? "complete" : "not complete: cursor kept"}), applied ${b.applied}, duplicates ${b.duplicates}, failed ${b.failed}`
  );
};

export function printViolationReport(report: ViolationReport, file: string | null): void {
  if (report.explained.length === 0) return;
  console.log(
    `\n  violating orders explained (${report.explained.length}; all rows in ${file ?? "the result"}):`,
  );
  console.log(`  ${CLOCKS}`);
  for (const e of report.explained) {
    const db = e.database;
    console.log(`\n  ── ${e.orderId} (${e.provider}, ${e.fate}, user ${e.userId})`);
    for (const v of e.violations) console.log(`     violates: ${v}`);
    console.log(`     sandbox: ${sandboxLine(e.sandbox)}`);
    console.log(
      `     rows: ${db.order.length} order (${db.order.map((o) => o.status).join()}), ${db.payments.length} payments, ` +
        `${db.refunds.length} refunds, ${db.refundFailures.length} refund failures, ${db.heldFacts.length} held, ` +
        `${db.inbox.length} inbox, ${db.ledger.length} ledger, ${db.orderEvents.length} order events, ` +
        `${db.incidents.length} incidents; ${e.events.length} provider events, ${e.deliveries.length} delivery ` +
        `attempts, ${e.apiCalls.length} API calls`,
    );
    for (const line of e.timeline.slice(0, TIMELINE_LINES_SHOWN)) console.log(`     ${line}`);
    if (e.timeline.length > TIMELINE_LINES_SHOWN)
      console.log(`     … ${e.timeline.length - TIMELINE_LINES_SHOWN} more lines in the file`);
  }
  const backfill = (report.run.stripeBackfillRuns as Row[]) ?? [];
  console.log("\n  Stripe backfill, every run:");
  for (const run of backfill) console.log(`     ${backfillLine(run)}`);
  console.log(`  sandbox logs copied: ${JSON.stringify(report.run.sandboxLogs)}`);
  if (report.notExplained > 0) console.log(`  … ${report.notExplained} more violating orders not explained`);
}

/** Each order a check named, with what it violated (a user-level violation goes to each of its orders). */
function violationsOf(report: CheckReport): Map<string, string[]> {
  const byOrder = new Map<string, string[]>();
  for (const check of report.checks)
    for (const orderId of check.orderIds ?? []) {
      const about = check.violations.filter((v) => v.includes(orderId));
      const texts = (about.length > 0 ? about : check.violations.slice(0, 1)).map(
        (v) => `${check.name}: ${v}`,
      );
      byOrder.set(orderId, [...new Set([...(byOrder.get(orderId) ?? []), ...texts])]);
    }
  return byOrder;
}
