/**
 * The invariants a chaos run must end with, read from the database after the faults stopped and
 * compared with what the sandbox says happened (./facts.ts): paid orders fulfilled exactly once, unpaid
 * ones never credited, every order's credits what its facts imply, refunds recorded and clawed back once
 * (WeChat's second and lost ones too), failed refunds taking nothing net, disputes taking their share
 * until won (./fact-checks.ts), balances equal to their ledger, nothing pending past its expiry plus one
 * cron tick, one incident per anomaly and none left open from transient faults, no event acknowledged
 * before its commit. Also how long paid → credited took, by the path that credited.
 */
import { percentile } from "../lib/measure.ts";
import type { BenchStack } from "../lib/stack.ts";
import { factChecks, readBooks } from "./fact-checks.ts";
import { expectedStatus, type ProviderFacts, readProviderFacts } from "./facts.ts";
import type { Tracked } from "./orders.ts";
import { endsPaid } from "./plan.ts";

/** Incidents that wait for a human by design (the hourly audit re-reports an order in review too). */
const REVIEW_KINDS = new Set([
  "mismatch",
  "needs_review",
  "audit_needs_review",
  "exceeds_grant",
  "unknown_order",
]);
/** A chargeback's incident stays open while the dispute is open or lost: a human answers the bank. */
const DISPUTE_KIND = "dispute";
/** Incidents no fault stopping can clear: the review kinds and open or lost disputes. */
const HUMAN_KINDS = new Set([...REVIEW_KINDS, DISPUTE_KIND]);
/**
 * Callback health reports this machine's setup (http://127.0.0.1 is no public https URL) and the
 * provider's last hour of failed deliveries (a dropped delivery stays failed there); the threshold alerts
 * report the last hour's failure rates and repairs, which the fault mix drives over their limits. All are
 * true findings that outlast the run, so they are not counted as faults that should have cleared.
 */
const ENVIRONMENT_INCIDENT_PREFIXES = ["callback_health:", "threshold:"];
const VIOLATIONS_SHOWN_MAX = 10;

/**
 * What the final ticks still have to finish once the faults stopped: orders pending past their expiry,
 * inbox events not processed (a redelivery or the backfill takes them again), incidents still in the
 * outbox and open incidents that no human has to look at.
 */
export async function unfinishedWork(stack: BenchStack): Promise<number> {
  const [row] = await stack.standIn.query<{ n: number }>(
    `select (select count(*) from payguard.payment_orders where status = 'pending' and expires_at < now())::int
          + (select count(*) from payguard.webhook_events where status in ('failed', 'received'))::int
          + (select count(*) from payguard.incident_outbox)::int
          + (select count(*) from payguard.incidents
              where status = 'open' and not (kind = any($1))
                and not (key like any($2)))::int as n`,
    [[...HUMAN_KINDS], ENVIRONMENT_INCIDENT_PREFIXES.map((prefix) => `${prefix}%`)],
  );
  return row?.n ?? 0;
}

export interface Check {
  name: string;
  checked: number;
  violations: string[];
  /** The orders the violations are about (explained after the run), where a violation names one. */
  orderIds?: string[];
}

export interface CheckReport {
  checks: Check[];
  creditLatencyByPath: Record<string, { count: number; p50Ms: number; p95Ms: number; maxMs: number }>;
  violations: number;
}

interface OrderRow {
  id: string;
  status: string;
  user_id: string;
  expires_at: Date;
  purchases: number;
  credited_at: Date | null;
  credited_by: string | null;
}

/** A delivery the worker answered 2xx: the provider will not send that event again. */
export interface Acknowledged {
  provider: string;
  eventId: string;
  /** The order the simulation emitted the event for, when it knows. */
  orderId: string | null;
  /** When the first 2xx for it came back. */
  acknowledgedAtMs: number;
}

export async function checkSystem(
  stack: BenchStack,
  tracked: Tracked[],
  lastTickStartedMs: number,
  acknowledged: Acknowledged[] = [],
): Promise<CheckReport> {
  const rows = await stack.standIn.query<OrderRow>(
    `select o.id, o.status, o.user_id::text, o.expires_at,
            (select count(*)::int from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase') as purchases,
            e.at as credited_at, e.source as credited_by
       from payguard.payment_orders o
       left join lateral (select at, source from payguard.order_events
                           where order_id = o.id and kind in ('paid', 'late_payment') order by at limit 1) e on true
      where o.id = any($1)`,
    [tracked.map((order) => order.orderId)],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const check = (
    name: string,
    orders: Tracked[],
    violation: (order: Tracked, row: OrderRow) => string | null,
  ) => {
    const violations: string[] = [];
    const orderIds: string[] = [];
    for (const order of orders) {
      const row = byId.get(order.orderId);
      const found = row ? violation(order, row) : "order row missing";
      if (!found) continue;
      violations.push(`${order.orderId} (${order.plan.provider}, ${order.plan.fate}): ${found}`);
      orderIds.push(order.orderId);
    }
    return { name, checked: orders.length, violations, orderIds };
  };
  const facts = await readProviderFacts(stack, tracked);
  const factsOf = (o: Tracked) => facts.get(o.orderId) as ProviderFacts;
  // Paid: what the provider says, not what the run meant (a refused step would otherwise hide there).
  const paid = tracked.filter((o) => o.plan.fate !== "mismatch" && factsOf(o).paidMinor !== null);
  const unpaid = tracked.filter((o) => !paid.includes(o));
  const books = await readBooks(
    stack,
    paid.map((o) => o.orderId),
  );
  const notified = new Set(acknowledged.map((a) => a.eventId));
  const wechatRefundNotified = new Map(
    tracked.flatMap((o) =>
      o.refundEvents.map((r) => [r.refundId, r.eventIds.some((id) => notified.has(id))]),
    ),
  );

  const checks: Check[] = [
    check(
      "every paid order fulfilled exactly once",
      [...paid, ...unpaid.filter((o) => endsPaid(o.plan))],
      (o, row) =>
        factsOf(o).paidMinor === null
          ? "planned paid, no payment at the provider"
          : row.purchases !== 1
            ? `${row.purchases} grants`
            : row.status !== expectedStatus(factsOf(o))
              ? `status ${row.status}, the provider's facts imply ${expectedStatus(factsOf(o))}`
              : null,
    ),
    check("no unpaid order credited", unpaid, (_o, row) =>
      row.purchases > 0 ? `${row.purchases} grants` : null,
    ),
    ...factChecks({ paid, facts, books, wechatRefundNotified }),
    check("nothing pending past expiry plus one tick", tracked, (_o, row) =>
      row.status === "pending" && row.expires_at.getTime() < lastTickStartedMs
        ? `pending, expired at ${row.expires_at.toISOString()}`
        : null,
    ),
    await balancesCheck(stack, tracked),
    await cronOverlapCheck(stack),
    ...(await incidentChecks(stack, tracked, facts)),
    await acknowledgedCheck(stack, acknowledged),
  ];
  return {
    checks,
    creditLatencyByPath: creditLatency(tracked, byId),
    violations: checks.reduce((sum, c) => sum + c.violations.length, 0),
  };
}

async function balancesCheck(stack: BenchStack, tracked: Tracked[]): Promise<Check> {
  const users = [...new Set(tracked.map((o) => o.userId))];
  const rows = await stack.standIn.query<{ user_id: string; balance: string | null; ledger: string | null }>(
    `select u.user_id::text, b.credits::text as balance,
            (select sum(credits)::text from payguard.credit_ledger l where l.user_id = u.user_id) as ledger
       from unnest($1::uuid[]) as u(user_id)
       left join payguard.credit_balances b on b.user_id = u.user_id`,
    [users],
  );
  const off = rows.filter((row) => (row.balance ?? "0") !== (row.ledger ?? "0"));
  const violations = off.map(
    (row) => `user ${row.user_id}: balance ${row.balance ?? 0}, ledger ${row.ledger ?? 0}`,
  );
  const offUsers = new Set(off.map((row) => row.user_id));
  const orderIds = tracked.filter((o) => offUsers.has(o.userId)).map((o) => o.orderId);
  return { name: "every balance = sum(ledger)", checked: rows.length, violations, orderIds };
}

/** Inbox states that mean the event's transaction committed its settlement and finished it. */
const FINISHED_INBOX = new Set(["processed", "ignored"]);
/** Timestamps of the two clocks (the runner's, the worker's `now`) are compared within this much. */
const CLOCK_SLACK_MS = 50;

/**
 * No event answered 2xx while its transaction did not commit (issue 22 item 6): every event a delivery
 * was acknowledged for is in the inbox and finished, and was finished by then (a row finished later was
 * finished by a redelivery's copy or the backfill after the provider had stopped retrying). The worker
 * stamps `finished_at` with the `now` it took when the finishing request arrived, so a correct
 * acknowledgement always comes after it.
 */
async function acknowledgedCheck(stack: BenchStack, acknowledged: Acknowledged[]): Promise<Check> {
  const rows = await stack.standIn.query<{
    provider: string;
    event_id: string;
    status: string;
    finished_at: Date | null;
    attempts: number;
  }>(
    "select provider, event_id, status, finished_at, attempts from payguard.webhook_events where event_id = any($1)",
    [[...new Set(acknowledged.map((a) => a.eventId))]],
  );
  const inbox = new Map(rows.map((row) => [`${row.provider}:${row.event_id}`, row]));
  const problem = (a: Acknowledged): string | null => {
    const row = inbox.get(`${a.provider}:${a.eventId}`);
    if (!row) return "not in the inbox";
    if (!FINISHED_INBOX.has(row.status)) return `inbox ${row.status}`;
    const lateMs = (row.finished_at?.getTime() ?? 0) - a.acknowledgedAtMs;
    return lateMs > CLOCK_SLACK_MS
      ? `finished ${lateMs} ms after the first 2xx (attempts ${row.attempts})`
      : null;
  };
  const bad = acknowledged.flatMap((a) => {
    const found = problem(a);
    return found ? [{ a, found }] : [];
  });
  return {
    name: "no event acknowledged before its commit",
    checked: acknowledged.length,
    violations: bad.map(
      ({ a, found }) =>
        `${a.provider}:${a.eventId} (order ${a.orderId ?? "unknown"}): answered 2xx, ${found}`,
    ),
    orderIds: bad.flatMap(({ a }) => (a.orderId ? [a.orderId] : [])),
  };
}

/**
 * The crons were really run on top of each other: job runs whose start-to-finish spans overlap (two
 * reconcile runs at once, or the hourly job inside a reconcile run). Without any, the other checks
 * proved nothing about overlapping crons.
 */
async function cronOverlapCheck(stack: BenchStack): Promise<Check> {
  const [row] = await stack.standIn.query<{ runs: number; overlapping: number; same_job: number }>(
    `select (select count(*)::int from payguard.job_runs) as runs,
            count(*)::int as overlapping, count(*) filter (where a.job = b.job)::int as same_job
       from payguard.job_runs a
       join payguard.job_runs b on a.id < b.id and a.started_at < b.finished_at and b.started_at < a.finished_at`,
  );
  const violations =
    !row || row.overlapping === 0 || row.same_job === 0
      ? [`${row?.overlapping ?? 0} overlapping pairs of job runs, ${row?.same_job ?? 0} of the same job`]
      : [];
  return {
    name: `crons overlapped (${row?.overlapping ?? 0} pairs, ${row?.same_job ?? 0} same job)`,
    checked: row?.runs ?? 0,
    violations,
  };
}

interface IncidentRow {
  key: string;
  kind: string;
  status: string;
  order_id: string | null;
  opened_at: Date;
  last_seen_at: Date;
  detail: Record<string, unknown>;
}

/** A dispute's incident: open while the dispute is open or lost, there and resolved once it is won. */
function disputeIncidentFinding(facts: ProviderFacts, incident: IncidentRow | undefined): string | null {
  const undecided = facts.disputes.filter((d) => d.state !== "won").map((d) => `${d.id} ${d.state}`);
  if (!incident) return "disputed, no dispute incident";
  if (undecided.length > 0 && incident.status !== "open")
    return `dispute ${undecided.join(", ")}, its incident ${incident.status}`;
  if (undecided.length === 0 && incident.status === "open")
    return "every dispute won, its incident still open";
  return null;
}

/**
 * One incident per anomaly: a mis-charge's review incident; a dispute's `dispute:<order>`, open while
 * it is open or lost and resolved once won. Nothing else open for an order of the run, and nothing
 * about no order of it (a transient fault's) once the faults stopped.
 */
async function incidentChecks(
  stack: BenchStack,
  tracked: Tracked[],
  facts: Map<string, ProviderFacts>,
): Promise<Check[]> {
  // The bill's findings name their order as `orderId`.
  const incidents = await stack.standIn.query<IncidentRow>(
    `select key, kind, status, coalesce(detail->>'order_id', detail->>'orderId') as order_id, opened_at,
            last_seen_at, detail from payguard.incidents`,
  );
  const mismatches = tracked.filter((o) => o.plan.fate === "mismatch");
  const disputed = tracked.filter((o) => (facts.get(o.orderId)?.disputes.length ?? 0) > 0);
  const ours = new Set(tracked.map((o) => o.orderId));
  const reviewFor = new Set(
    incidents.filter((i) => i.order_id && REVIEW_KINDS.has(i.kind)).map((i) => i.order_id as string),
  );
  const byKey = new Map(incidents.map((i) => [i.key, i]));
  const problems = [
    ...mismatches.map((o) => ({ o, found: reviewFor.has(o.orderId) ? null : "no review incident" })),
    ...disputed.map((o) => ({
      o,
      found: disputeIncidentFinding(facts.get(o.orderId) as ProviderFacts, byKey.get(`dispute:${o.orderId}`)),
    })),
  ].filter(({ found }) => found !== null);
  const missing = problems.map(
    ({ o, found }) => `${o.orderId} (${o.plan.provider}, ${o.plan.fate}): ${found}`,
  );
  const mayStayOpen = new Set([
    ...mismatches.map((o) => o.orderId),
    ...disputed
      .filter((o) => facts.get(o.orderId)?.disputes.some((d) => d.state !== "won"))
      .map((o) => o.orderId),
  ]);
  const unexpectedFor = incidents.filter(
    (i) =>
      i.order_id &&
      ours.has(i.order_id) &&
      !mayStayOpen.has(i.order_id) &&
      i.status === "open" &&
      !(i.kind === DISPUTE_KIND && disputed.some((o) => o.orderId === i.order_id)),
  );
  const unexpected = unexpectedFor.map((i) => `${i.key} (${i.kind}) open for an order that had no anomaly`);
  const unresolvedFor = incidents.filter(
    (i) =>
      i.status === "open" &&
      !HUMAN_KINDS.has(i.kind) &&
      !ENVIRONMENT_INCIDENT_PREFIXES.some((prefix) => i.key.startsWith(prefix)) &&
      !(i.order_id && ours.has(i.order_id)),
  );
  const unresolved = unresolvedFor.map(
    (i) =>
      `${i.key} (${i.kind}) still open after the faults stopped (opened ${i.opened_at.toISOString()}, last seen ${i.last_seen_at.toISOString()}: ${JSON.stringify(i.detail)})`,
  );
  // An incident change still in the outbox never reached the desk: raised or resolved too late to count.
  const undelivered = await stack.standIn.query<{ key: string; action: string; order_id: string | null }>(
    "select key, action, detail->>'order_id' as order_id from payguard.incident_outbox order by id",
  );
  return [
    {
      name: "every anomaly has an incident",
      checked: mismatches.length + disputed.length,
      violations: [...missing, ...unexpected],
      orderIds: [...problems.map(({ o }) => o.orderId), ...unexpectedFor.map((i) => i.order_id as string)],
    },
    {
      name: "every incident resolves once the faults stop",
      checked: incidents.filter((i) => !HUMAN_KINDS.has(i.kind)).length,
      violations: [...unresolved, ...undelivered.map((x) => `${x.action} ${x.key} still in the outbox`)],
      orderIds: [...unresolvedFor, ...undelivered].flatMap((i) => (i.order_id ? [i.order_id] : [])),
    },
  ];
}

function creditLatency(tracked: Tracked[], byId: Map<string, OrderRow>): CheckReport["creditLatencyByPath"] {
  const byPath = new Map<string, number[]>();
  for (const order of tracked) {
    const row = byId.get(order.orderId);
    if (!row?.credited_at || order.paidAtMs === null || row.purchases === 0) continue;
    const path = row.credited_by ?? "unknown";
    byPath.set(path, [...(byPath.get(path) ?? []), Math.max(0, row.credited_at.getTime() - order.paidAtMs)]);
  }
  return Object.fromEntries(
    [...byPath].map(([path, values]) => {
      values.sort((a, b) => a - b);
      return [
        path,
        {
          count: values.length,
          p50Ms: percentile(values, 50),
          p95Ms: percentile(values, 95),
          maxMs: values.at(-1) ?? 0,
        },
      ];
    }),
  );
}

export function printReport(report: CheckReport): void {
  for (const c of report.checks) {
    const mark = c.violations.length === 0 ? "ok  " : "FAIL";
    console.log(
      `  ${mark} ${c.name.padEnd(46)} checked ${String(c.checked).padStart(6)}, violations ${c.violations.length}`,
    );
    for (const v of c.violations.slice(0, VIOLATIONS_SHOWN_MAX)) console.log(`         ${v}`);
    if (c.violations.length > VIOLATIONS_SHOWN_MAX)
      console.log(`         … and ${c.violations.length - VIOLATIONS_SHOWN_MAX} more`);
  }
  console.log("  paid → credited, by path:");
  for (const [path, f] of Object.entries(report.creditLatencyByPath))
    console.log(
      `    ${path.padEnd(10)} ${String(f.count).padStart(6)} orders  p50 ${f.p50Ms} ms  p95 ${f.p95Ms} ms  max ${f.maxMs} ms`,
    );
}
