/**
 * Builds the adapters a request or job needs from the bindings, once per isolate. The supabase-js
 * client is created with no session persistence: the worker only ever calls functions with the
 * secret key (`sb_secret_…` or the legacy service-role JWT).
 */
import { createClient } from "@supabase/supabase-js";
import { createRunbookStore, type RunbookStore } from "./admin/runbook-store.ts";
import { type AdminStore, createAdminStore } from "./admin/store.ts";
import { createDeskAlertSink } from "./alerts/desk-sink.ts";
import type { BudgetNamespace } from "./budget/budget.ts";
import { type CheckoutStore, createSupabaseCheckoutStore } from "./checkout/store.ts";
import { type ConfirmChecks, createConfirmChecks } from "./db/confirm-checks.ts";
import { createSupabaseLedgerStore } from "./db/ledger-store.ts";
import { createSubscriptionStore, type SubscriptionStore } from "./db/subscription-store.ts";
import { type Config, loadConfig } from "./env.ts";
import type { AlertSink, LedgerStore } from "./ledger/ports.ts";
import { createOpsStore, type OpsStore } from "./ops/store.ts";

/** Every payguard table and function lives in this schema; the project's Data API must expose it. */
export const PAYGUARD_SCHEMA = "payguard";

export interface Deps {
  config: Config;
  store: LedgerStore;
  /** Every incident source raises through this one sink. */
  alerts: AlertSink;
  /** The success page's per-order provider-query throttle. */
  confirmChecks: ConfirmChecks;
  /** The catalogue and idempotent checkout steps. */
  checkout: CheckoutStore;
  /** The operator console's reads, repairs and audit trail. */
  admin: AdminStore;
  /** The doctor, threshold alerts and weekly report (src/ops/). */
  ops: OpsStore;
  /** The sales switch and the replayable inbox events. */
  runbook: RunbookStore;
  /** Plans, subscribe checkouts, the subscription re-check and the console's subscriptions. */
  subscriptions: SubscriptionStore;
  /** The deployment's provider token buckets (src/budget/): every provider call takes its token there. */
  providerBudgets: BudgetNamespace;
}

const built = new WeakMap<object, Deps>();

export function getDeps(env: Env): Deps {
  const cached = built.get(env);
  if (cached) return cached;
  const config = loadConfig(env);
  const client = createClient(config.supabaseUrl, config.supabaseSecretKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: PAYGUARD_SCHEMA },
  });
  const store = createSupabaseLedgerStore(client);
  const deps = {
    config,
    store,
    alerts: createDeskAlertSink(env.ALERT_DESK),
    confirmChecks: createConfirmChecks(client),
    checkout: createSupabaseCheckoutStore(client),
    admin: createAdminStore(client),
    ops: createOpsStore(client),
    runbook: createRunbookStore(client),
    subscriptions: createSubscriptionStore(client),
    providerBudgets: env.PROVIDER_BUDGET,
  };
  built.set(env, deps);
  return deps;
}
