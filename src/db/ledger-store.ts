/**
 * The supabase-js adapter of `LedgerStore`: one `.rpc()` per method, no table access. Argument names
 * mirror the SQL functions in supabase/migrations (named `p_*`); times cross as ISO strings.
 */
import type {
  AuditChangesStep,
  AuditSliceStep,
  AuditStep,
  InboxStatus,
  LedgerStore,
  TransitionResult,
} from "../ledger/ports.ts";
import { mapValue } from "../ledger/result.ts";
import type { DisputeOutcome, OrderStatus, PaymentOutcome, RefundOutcome } from "../ledger/types.ts";
import { type OrderRow, toOrder, toOrderOrNull } from "./order-row.ts";
import { callRpc, type PayguardClient } from "./rpc.ts";
import {
  factJson,
  incidentsOf,
  iso,
  metadataJson,
  type OutboxRow,
  type OutcomeRow,
  type SettledEventJson,
  toOutboxIncident,
  toOutcome,
  toSettledEvent,
} from "./settle-json.ts";

/** `audit_slice` as the database answers it (the pass in snake case, its start as an ISO time). */
type AuditSliceRow = Omit<AuditSliceStep, "pass"> & {
  pass: { started_at: string; slices: number; estimated_slices: number; finished: boolean };
};

export function createSupabaseLedgerStore(client: PayguardClient): LedgerStore {
  const rpc = <T>(fn: string, args: Record<string, unknown>) => callRpc<T>(client, fn, args);
  const transition = async (fn: string, input: { orderId: string; reason: string; nowMs: number }) =>
    mapValue(
      await rpc<OutcomeRow<TransitionResult["outcome"]>>(fn, {
        p_order_id: input.orderId,
        p_reason: input.reason,
        p_now: iso(input.nowMs),
      }),
      toOutcome,
    );

  return {
    async createOrder(input) {
      const result = await rpc<OrderRow>("create_order", {
        p_user_id: input.userId,
        p_package_id: input.packageId,
        p_provider: input.provider,
        p_now: iso(input.nowMs),
        p_order_id: input.orderId ?? null,
      });
      return mapValue(result, toOrder);
    },
    async getOrder(orderId) {
      return mapValue(await rpc<OrderRow | null>("get_order", { p_order_id: orderId }), toOrderOrNull);
    },
    async findOrderByProviderRef(provider, providerRef) {
      const result = await rpc<OrderRow | null>("find_order_by_provider_ref", {
        p_provider: provider,
        p_provider_ref: providerRef,
      });
      return mapValue(result, toOrderOrNull);
    },
    async findOrderByPaymentRef(provider, paymentRef) {
      const result = await rpc<OrderRow | null>("find_order_by_payment_ref", {
        p_provider: provider,
        p_payment_ref: paymentRef,
      });
      return mapValue(result, toOrderOrNull);
    },
    async setProviderRef(input) {
      const result = await rpc<OrderRow>("set_provider_ref", {
        p_order_id: input.orderId,
        p_provider_ref: input.providerRef,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, toOrder);
    },
    async applyPayment(input) {
      const result = await rpc<OutcomeRow<PaymentOutcome>>("apply_payment", {
        p_provider: input.provider,
        p_order_id: input.orderId,
        p_payment_ref: input.paymentRef,
        p_amount_minor: input.amountMinor,
        p_currency: input.currency,
        p_paid_at: iso(input.paidAtMs),
        p_source: input.source,
        p_now: iso(input.nowMs),
        p_metadata: metadataJson(input.metadata),
        p_discount_minor: input.discountMinor ?? 0,
        p_provider_ref: input.providerRef ?? null,
        p_refunded_at_provider: input.refundedAtProvider ?? false,
      });
      return mapValue(result, toOutcome);
    },
    async applyRefund(input) {
      const result = await rpc<OutcomeRow<RefundOutcome>>("apply_refund", {
        p_provider: input.provider,
        p_order_id: input.orderId,
        p_refund_ref: input.refundRef,
        p_amount_minor: input.amountMinor,
        p_currency: input.currency,
        p_source: input.source,
        p_now: iso(input.nowMs),
        p_payment_ref: input.paymentRef,
      });
      return mapValue(result, toOutcome);
    },
    async failRefund(input) {
      const result = await rpc<OutcomeRow<RefundOutcome>>("fail_refund", {
        p_provider: input.provider,
        p_refund_ref: input.refundRef,
        p_source: input.source,
        p_now: iso(input.nowMs),
        p_payment_ref: input.paymentRef ?? null,
      });
      return mapValue(result, toOutcome);
    },
    async awaitPayment(input) {
      const result = await rpc<OutcomeRow<"awaiting_payment" | "noop" | "unknown_order">>("await_payment", {
        p_order_id: input.orderId,
        p_payment_ref: input.paymentRef,
        p_until: iso(input.untilMs),
        p_now: iso(input.nowMs),
      });
      return mapValue(result, toOutcome);
    },
    async applyDispute(input) {
      const result = await rpc<OutcomeRow<DisputeOutcome>>("apply_dispute", {
        p_provider: input.provider,
        p_order_id: input.orderId,
        p_dispute_ref: input.disputeRef,
        p_payment_ref: input.paymentRef,
        p_amount_minor: input.amountMinor,
        p_currency: input.currency,
        p_state: input.state,
        p_policy: input.policy,
        p_source: input.source,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, toOutcome);
    },
    async resolveReview(input) {
      const result = await rpc<OutcomeRow<OrderStatus | "noop">>("resolve_review", {
        p_order_id: input.orderId,
        p_resolution: input.resolution,
        p_note: input.note,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, toOutcome);
    },
    async ordersForBill(input) {
      const result = await rpc<Array<OrderRow & { refund_refs?: string[] | null }>>("orders_for_bill", {
        p_provider: input.provider,
        p_from: iso(input.fromMs),
        p_to: iso(input.toMs),
        p_order_ids: input.orderIds,
      });
      return mapValue(result, (rows) =>
        rows.map((row) => ({ ...toOrder(row), refundRefs: row.refund_refs ?? [] })),
      );
    },
    async recordCheck(input) {
      const result = await rpc<OrderRow | null>("record_check", {
        p_order_id: input.orderId,
        p_now: iso(input.nowMs),
        p_delay_seconds: input.delaySeconds ?? null,
        // Only when given: a database without the outcome column still takes the call.
        ...(input.outcome ? { p_outcome: input.outcome } : {}),
      });
      return mapValue(result, toOrderOrNull);
    },
    async noteCheck(input) {
      const result = await rpc<OrderRow | null>("note_check", {
        p_order_id: input.orderId,
        p_now: iso(input.nowMs),
        p_outcome: input.outcome,
        p_error: input.error ?? null,
        p_count: input.count ?? false,
      });
      // An unknown order comes back as a row of nulls.
      return mapValue(result, (row) => (row?.id ? toOrder(row) : null));
    },
    expireOrder: (input) => transition("expire_order", input),
    failOrder: (input) => transition("fail_order", input),
    flagOrder: (input) => transition("flag_order", input),
    async leaseDueOrders(input) {
      const result = await rpc<OrderRow[]>("lease_due_orders", {
        p_limit: input.limit,
        p_lease_seconds: input.leaseSeconds,
        p_now: iso(input.nowMs),
        p_provider: input.provider ?? null,
      });
      return mapValue(result, (rows) => rows.map(toOrder));
    },
    async recordEvent(input) {
      const result = await rpc<{ status: InboxStatus }>("record_event", {
        p_provider: input.provider,
        p_event_id: input.eventId,
        p_event_type: input.eventType,
        p_order_id: input.orderId,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, (row) => row.status);
    },
    async finishEvent(input) {
      const result = await rpc<null>("finish_event", {
        p_provider: input.provider,
        p_event_id: input.eventId,
        p_status: input.status,
        p_error: input.error ?? null,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, () => undefined);
    },
    async settleEvent(input) {
      const result = await rpc<SettledEventJson>("settle_event", {
        p_provider: input.provider,
        p_event_id: input.eventId,
        p_event_type: input.eventType,
        p_locator: {
          by: input.locator.by,
          ref: input.locator.ref,
          claimed_order_id: input.locator.claimedOrderId,
        },
        p_facts: input.facts.map(factJson),
        p_source: input.source,
        p_now: iso(input.nowMs),
        p_note: input.note ?? null,
      });
      return mapValue(result, toSettledEvent);
    },
    async claimIncidentOutbox(input) {
      const result = await rpc<OutboxRow[]>("claim_incident_outbox", {
        p_limit: input.limit,
        p_lease_seconds: input.leaseSeconds,
        p_now: iso(input.nowMs),
        p_min_age_seconds: input.minAgeSeconds,
      });
      return mapValue(result, (rows) => rows.map(toOutboxIncident));
    },
    async finishIncidentOutbox(ids) {
      const result = await rpc<number>("finish_incident_outbox", { p_ids: ids });
      return mapValue(result, Number);
    },
    async openIncident(input) {
      return rpc<{ id: number; opened: boolean }>("open_incident", {
        p_key: input.key,
        p_kind: input.kind,
        p_severity: input.severity,
        p_summary: input.summary,
        p_detail: input.detail,
        p_now: iso(input.nowMs),
      });
    },
    async resolveIncident(input) {
      return rpc<{ resolved: boolean }>("resolve_incident", { p_key: input.key, p_now: iso(input.nowMs) });
    },
    async acknowledgeIncident(input) {
      return rpc<{ found: boolean }>("acknowledge_incident", {
        p_key: input.key,
        p_actor: input.actor,
        p_now: iso(input.nowMs),
      });
    },
    async muteIncident(input) {
      return rpc<{ found: boolean }>("mute_incident", {
        p_key: input.key,
        p_until: iso(input.untilMs),
        p_actor: input.actor,
        p_now: iso(input.nowMs),
      });
    },
    async recordJobRun(input) {
      const result = await rpc<null>("record_job_run", {
        p_job: input.job,
        p_started_at: iso(input.startedAtMs),
        p_finished_at: iso(input.finishedAtMs),
        p_status: input.status,
        p_detail: input.detail,
      });
      return mapValue(result, () => undefined);
    },
    getSyncCursor: (name) => rpc<unknown>("get_sync_cursor", { p_name: name }),
    async setSyncCursor(input) {
      const result = await rpc<null>("set_sync_cursor", {
        p_name: input.name,
        p_value: input.value,
        p_now: iso(input.nowMs),
      });
      return mapValue(result, () => undefined);
    },
    auditCurrent: (input) => rpc<AuditStep>("audit_current", { p_now: iso(input.nowMs) }),
    auditChanges: (input) =>
      rpc<AuditChangesStep>("audit_changes", { p_now: iso(input.nowMs), p_limit: input.limit }),
    async auditSlice(input) {
      const result = await rpc<AuditSliceRow>("audit_slice", {
        p_now: iso(input.nowMs),
        p_limit: input.limit,
      });
      return mapValue(result, ({ pass, ...slice }) => ({
        ...slice,
        pass: {
          startedAtMs: Date.parse(pass.started_at),
          slices: pass.slices,
          estimatedSlices: pass.estimated_slices,
          finished: pass.finished,
        },
      }));
    },
    auditSubjects: (input) =>
      rpc<AuditStep>("audit_subjects", {
        p_users: input.users,
        p_orders: input.orders,
        p_refunds: input.refunds,
      }),
    async repairMissingGrant(input) {
      const result = await rpc<{ outcome: "granted" | "noop"; incidents?: OutboxRow[] | null }>(
        "repair_missing_grant",
        { p_order_id: input.orderId, p_now: iso(input.nowMs) },
      );
      return mapValue(result, (row) => ({ outcome: row.outcome, incidents: incidentsOf(row) }));
    },
    async repairRefundFailure(input) {
      const result = await rpc<{ outcome: "refund_failed" | "noop"; incidents?: OutboxRow[] | null }>(
        "repair_refund_failure",
        { p_provider: input.provider, p_refund_ref: input.refundRef, p_now: iso(input.nowMs) },
      );
      return mapValue(result, (row) => ({ outcome: row.outcome, incidents: incidentsOf(row) }));
    },
    listOpenIncidentKeys: (prefix) => rpc<string[]>("list_open_incident_keys", { p_prefix: prefix }),
    async callbackGaps(input) {
      const result = await rpc<{ count: number; first_order_id: string | null }>("callback_gaps", {
        p_provider: input.provider,
        p_since: iso(input.sinceMs),
        p_until: iso(input.untilMs),
        p_delay_seconds: input.delaySeconds,
      });
      return mapValue(result, (row) => ({ count: Number(row.count), firstOrderId: row.first_order_id }));
    },
  };
}
