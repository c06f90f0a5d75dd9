/**
 * What this version of the code expects of its database: the latest migration (its 14-digit version) and
 * every payguard function the worker may call. test/unit/ops/expected-schema.test.ts keeps both equal to
 * supabase/migrations, so a new migration or function updates this list in the same change.
 */

export const EXPECTED_MIGRATION = "20261122009000";

/** Callable functions (not `_`-prefixed helpers or triggers): service_role, and only it, executes each. */
export const EXPECTED_FUNCTIONS: readonly string[] = [
  "acknowledge_incident",
  "admin_order_detail",
  "admin_overview",
  "admin_search_orders",
  "apply_payment",
  "apply_refund",
  "audit_ledger",
  "callback_gaps",
  "checkout_abort",
  "checkout_begin",
  "checkout_complete",
  "claim_confirm_check",
  "claim_weekly_report",
  "create_order",
  "dashboard_metrics",
  "doctor",
  "expire_order",
  "fail_order",
  "fail_refund",
  "find_order_by_payment_ref",
  "find_order_by_provider_ref",
  "finish_event",
  "flag_order",
  "get_order",
  "get_sync_cursor",
  "lease_due_orders",
  "list_incidents",
  "list_job_runs",
  "list_open_incident_keys",
  "list_orders",
  "list_packages",
  "mute_incident",
  "open_incident",
  "orders_for_bill",
  "record_admin_action",
  "record_check",
  "record_event",
  "record_job_run",
  "release_weekly_report",
  "repair_balance",
  "repair_missing_grant",
  "resolve_incident",
  "resolve_review",
  "set_provider_ref",
  "set_sync_cursor",
  "threshold_stats",
  "weekly_report",
];
