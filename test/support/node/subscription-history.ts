/**
 * A user's subscription history as SQL calls, for the suites that show it (the admin API, the dashboard,
 * the Chinese pages, the screenshots) in workerd and in Node alike: a plan (package + `credit_plans` row)
 * and paid invoices settled through `payguard.settle_event` exactly as their `invoice.paid` deliveries
 * would be (the fact's shape: test/sql/subscriptions.test.ts). Pure: callers run the calls.
 */

export type SqlCall = [query: string, params: unknown[]];

export interface Plan {
  id: string;
  name: string;
  priceRef: string;
  amountMinor: number;
  credits: number;
  expiry: "accumulate" | "reset";
}

export const DAY_MS = 86_400_000;
const PERIOD_MS = 30 * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();

/** A monthly USD plan: `price_<id>` bills it. */
export function plan(id: string, options: Partial<Omit<Plan, "id" | "priceRef">> = {}): Plan {
  return {
    id,
    priceRef: `price_${id}`,
    name: "Monthly",
    amountMinor: 1000,
    credits: 100,
    expiry: "accumulate",
    ...options,
  };
}

export const planRows = (p: Plan): SqlCall[] => [
  [
    `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
     values ($1, $2, $3, 'USD', $4, true) on conflict (id) do nothing`,
    [p.id, p.name, p.amountMinor, p.credits],
  ],
  [
    `insert into payguard.credit_plans (package_id, price_ref, interval, expiry_policy)
     values ($1, $2, 'month', $3) on conflict do nothing`,
    [p.id, p.priceRef, p.expiry],
  ],
];

export interface InvoiceSpec {
  invoice: string;
  subscription: string;
  user: string;
  plan: Plan;
  reason?: string;
  periodStartMs: number;
  periodEndMs: number;
  /** Default: one full-period line of the plan's price. */
  lines?: Array<{ price_ref: string; amount_minor: number; proration?: boolean }>;
  paidMinor?: number;
}

/** One paid invoice, settled as its `invoice.paid` delivery would be (a minute and a half after it was paid). */
export function settleInvoice(spec: InvoiceSpec): SqlCall {
  const lines = spec.lines ?? [{ price_ref: spec.plan.priceRef, amount_minor: spec.plan.amountMinor }];
  const fact = {
    kind: "invoice_paid",
    provider: "stripe",
    invoice_ref: spec.invoice,
    subscription_ref: spec.subscription,
    billing_reason: spec.reason ?? "subscription_cycle",
    payment_ref: `pi_${spec.invoice}`,
    amount_minor: spec.paidMinor ?? lines.reduce((sum, line) => sum + line.amount_minor, 0),
    discount_minor: 0,
    currency: "usd",
    paid_at: iso(spec.periodStartMs + 60_000),
    period_start: iso(spec.periodStartMs),
    period_end: iso(spec.periodEndMs),
    metadata: { user_id: spec.user, package_id: spec.plan.id },
    lines: lines.map((line) => ({ currency: "usd", quantity: 1, proration: false, ...line })),
  };
  return [
    `select payguard.settle_event('stripe', $1, 'invoice.paid',
       jsonb_build_object('by', null, 'ref', null, 'claimed_order_id', $2::text), jsonb_build_array($3::jsonb),
       'webhook', $4::timestamptz)`,
    [`evt_${spec.invoice}`, spec.invoice, JSON.stringify(fact), iso(spec.periodStartMs + 90_000)],
  ];
}

/** A subscription's state as a `customer.subscription.*` delivery reports it. */
function reportState(spec: {
  subscription: string;
  user: string;
  plan: Plan;
  status: string;
  atMs: number;
  periodStartMs: number;
  periodEndMs: number;
  cancelAtPeriodEnd: boolean;
}): SqlCall {
  const fact = {
    kind: "subscription_state",
    provider: "stripe",
    subscription_ref: spec.subscription,
    status: spec.status,
    reported_at: iso(spec.atMs),
    current_period_start: iso(spec.periodStartMs),
    current_period_end: iso(spec.periodEndMs),
    cancel_at_period_end: spec.cancelAtPeriodEnd,
    price_ref: spec.plan.priceRef,
    metadata: { user_id: spec.user, package_id: spec.plan.id },
  };
  return [
    `select payguard.settle_event('stripe', $1, 'customer.subscription.deleted',
       jsonb_build_object('by', null, 'ref', null, 'claimed_order_id', null), jsonb_build_array($2::jsonb),
       'webhook', $3::timestamptz)`,
    [`evt_${spec.subscription}_${spec.status}`, JSON.stringify(fact), iso(spec.atMs)],
  ];
}

export interface History {
  /** Subscribed first: created, renewed once, a downgrade's invoice that grants nothing, then canceled. */
  older: { id: string; created: string; renewal: string; downgrade: string };
  /** Subscribed when the older one ended, in its first period now. */
  newer: { id: string; created: string };
  calls: SqlCall[];
}

/**
 * Two subscriptions of `user` to `p` (ids unique per call). Neither is due for the reconcile's re-check (one
 * is canceled, the other's current period is paid and runs past `nowMs`), so jobs other suites run never ask
 * Stripe about them. Under a reset plan the renewal expires what was left of the first period's grant.
 */
export function subscriptionHistory(user: string, p: Plan, nowMs: number): History {
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  const t0 = nowMs - 2 * PERIOD_MS - 10 * DAY_MS;
  const older = {
    id: `sub_${tag}_a`,
    created: `in_${tag}_a1`,
    renewal: `in_${tag}_a2`,
    downgrade: `in_${tag}_a3`,
  };
  const newer = { id: `sub_${tag}_b`, created: `in_${tag}_b1` };
  const base = { user, plan: p };
  const calls = [
    settleInvoice({
      ...base,
      invoice: older.created,
      subscription: older.id,
      reason: "subscription_create",
      periodStartMs: t0,
      periodEndMs: t0 + PERIOD_MS,
    }),
    settleInvoice({
      ...base,
      invoice: older.renewal,
      subscription: older.id,
      periodStartMs: t0 + PERIOD_MS,
      periodEndMs: t0 + 2 * PERIOD_MS,
    }),
    // Halfway through the second period, back to less: the unused rest of the plan is a credit, nothing paid.
    settleInvoice({
      ...base,
      invoice: older.downgrade,
      subscription: older.id,
      reason: "subscription_update",
      periodStartMs: t0 + PERIOD_MS + PERIOD_MS / 2,
      periodEndMs: t0 + 2 * PERIOD_MS,
      lines: [{ price_ref: p.priceRef, amount_minor: -p.amountMinor / 2, proration: true }],
      paidMinor: 0,
    }),
    reportState({
      ...base,
      subscription: older.id,
      status: "canceled",
      atMs: t0 + 2 * PERIOD_MS,
      periodStartMs: t0 + PERIOD_MS,
      periodEndMs: t0 + 2 * PERIOD_MS,
      cancelAtPeriodEnd: true,
    }),
    settleInvoice({
      ...base,
      invoice: newer.created,
      subscription: newer.id,
      reason: "subscription_create",
      periodStartMs: t0 + 2 * PERIOD_MS,
      periodEndMs: t0 + 3 * PERIOD_MS,
    }),
  ];
  return { older, newer, calls };
}
