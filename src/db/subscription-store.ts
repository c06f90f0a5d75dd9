/**
 * The subscriptions' view of the database (supabase/migrations/20261207000300_payguard_subscriptions.sql):
 * the plan catalogue, the plan a subscribe checkout asks for, the subscriptions the reconcile re-checks and
 * one user's subscriptions with their invoices for the console. Each is one Postgres function.
 */
import type { StoreResult } from "../ledger/ports.ts";
import { mapValue } from "../ledger/result.ts";
import { callRpc, type PayguardClient } from "./rpc.ts";
import { iso } from "./settle-json.ts";

export type ExpiryPolicy = "accumulate" | "reset";

export interface PlanView {
  id: string;
  name: string;
  amountMinor: number;
  currency: string;
  /** Granted per paid period. */
  credits: number;
  priceRef: string;
  interval: "day" | "week" | "month" | "year";
  intervalCount: number;
  expiryPolicy: ExpiryPolicy;
}

export interface SubscriptionRow {
  id: string;
  user_id: string;
  package_id: string;
  status: string;
  current_period_start: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  /** When payguard first saw the subscription. */
  created_at: string;
}

export interface SubscriptionInvoiceRow {
  invoice_ref: string;
  billing_reason: string;
  period_start: string;
  period_end: string;
  amount_paid_minor: number | string;
  currency: string;
  credits: number;
  rule: string;
  order_id: string | null;
  order_status: string | null;
  granted: number | string;
  expired: number | string;
}

export type UserSubscription = SubscriptionRow & { plan_name: string; invoices: SubscriptionInvoiceRow[] };

export interface SubscriptionStore {
  listPlans(): StoreResult<PlanView[]>;
  /** The active plan, and whether the user holds a live subscription to it already; null: no such plan. */
  planForCheckout(userId: string, planId: string): StoreResult<(PlanView & { subscribed: boolean }) | null>;
  leaseDue(input: {
    limit: number;
    graceSeconds: number;
    leaseSeconds: number;
    nowMs: number;
  }): StoreResult<SubscriptionRow[]>;
  ofUser(userId: string): StoreResult<UserSubscription[]>;
}

interface PlanRow {
  id: string;
  name: string;
  amount_minor: number | string;
  currency: string;
  credits: number;
  price_ref: string;
  interval: PlanView["interval"];
  interval_count: number;
  expiry_policy: ExpiryPolicy;
}

const toPlan = (row: PlanRow): PlanView => ({
  id: row.id,
  name: row.name,
  amountMinor: Number(row.amount_minor),
  currency: row.currency,
  credits: row.credits,
  priceRef: row.price_ref,
  interval: row.interval,
  intervalCount: row.interval_count,
  expiryPolicy: row.expiry_policy,
});

export function createSubscriptionStore(client: PayguardClient): SubscriptionStore {
  return {
    async listPlans() {
      return mapValue(await callRpc<PlanRow[]>(client, "list_plans", {}), (rows) => rows.map(toPlan));
    },
    async planForCheckout(userId, planId) {
      const result = await callRpc<(PlanRow & { subscribed: boolean }) | null>(client, "plan_for_checkout", {
        p_user_id: userId,
        p_package_id: planId,
      });
      return mapValue(result, (row) => (row ? { ...toPlan(row), subscribed: row.subscribed } : null));
    },
    async leaseDue(input) {
      return callRpc<SubscriptionRow[]>(client, "lease_due_subscriptions", {
        p_limit: input.limit,
        p_grace_seconds: input.graceSeconds,
        p_lease_seconds: input.leaseSeconds,
        p_now: iso(input.nowMs),
      });
    },
    async ofUser(userId) {
      return callRpc<UserSubscription[]>(client, "admin_user_subscriptions", { p_user_id: userId });
    },
  };
}
