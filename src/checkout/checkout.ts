/**
 * One checkout: begin (replay, refuse, or write the order with its stock unit), create the provider
 * session, then store the link and the answer. A provider failure on a fresh order fails that order and
 * frees its key (stock back, nothing half-created left pending) and is answered as retryable. A replay
 * of an unfinished attempt asks the provider again with the same idempotent parameters, and never fails
 * an order another request may still be finishing.
 */
import type { InfraError, Result } from "../ledger/result.ts";
import { err, ok, retryable } from "../ledger/result.ts";
import type { Order } from "../ledger/types.ts";
import type { CheckoutRequest } from "./request.ts";
import type { BeginInput, CheckoutAnswer, CheckoutStore, UserLimit } from "./store.ts";

export type CheckoutFailure =
  | { kind: "idempotency_conflict" }
  | { kind: "unknown_package" }
  | { kind: "out_of_stock" }
  | { kind: "currency_not_supported" }
  /** An operator paused sales of this package (or all): no new order until they resume. */
  | { kind: "sales_paused" }
  /** The user is at one of their limits (pending checkouts, units of a limited package held). */
  | { kind: "limit_reached"; limit: UserLimit }
  | { kind: "order_closed"; orderId: string }
  | { kind: "provider_failed"; detail: string; retryable: boolean }
  /** The database failed (for now, or because the installation is misconfigured): 503. */
  | { kind: "unavailable"; error: InfraError };

export interface ProviderSession {
  providerRef: string | null;
  answer: CheckoutAnswer;
}

export type CreateSession = (
  order: Order,
  packageName: string,
  request: CheckoutRequest,
  nowMs: number,
) => Promise<Result<ProviderSession, InfraError>>;

export interface CheckoutInput {
  userId: string;
  request: CheckoutRequest;
  idempotencyKey: string | null;
  requestHash: string;
  expiresInS: number;
  limits: BeginInput["limits"];
  nowMs: number;
}

export type CheckoutResult = Result<{ answer: CheckoutAnswer; replayed: boolean }, CheckoutFailure>;

export async function runCheckout(
  store: CheckoutStore,
  createSession: CreateSession,
  input: CheckoutInput,
): Promise<CheckoutResult> {
  const begun = await store.begin({
    userId: input.userId,
    packageId: input.request.packageId,
    provider: input.request.provider,
    idempotencyKey: input.idempotencyKey,
    requestHash: input.requestHash,
    expiresInS: input.expiresInS,
    limits: input.limits,
    nowMs: input.nowMs,
  });
  if (!begun.ok) return err({ kind: "unavailable", error: begun.error });
  const state = begun.value;
  if (state.outcome === "conflict") return err({ kind: "idempotency_conflict" });
  if (state.outcome === "unknown_package") return err({ kind: "unknown_package" });
  if (state.outcome === "out_of_stock") return err({ kind: "out_of_stock" });
  if (state.outcome === "currency_not_supported") return err({ kind: "currency_not_supported" });
  if (state.outcome === "sales_paused") return err({ kind: "sales_paused" });
  if (state.outcome !== "created" && state.outcome !== "replayed")
    return err({ kind: "limit_reached", limit: state.outcome });
  if (state.outcome === "replayed") {
    if (state.response) return ok({ answer: state.response, replayed: true });
    if (state.order.status !== "pending") return err({ kind: "order_closed", orderId: state.order.id });
  }
  const fresh = state.outcome === "created";
  const session = await createSession(state.order, state.packageName, input.request, input.nowMs);
  if (!session.ok) {
    const detail = `${session.error.code}: ${session.error.message}`;
    if (fresh) {
      // Best effort: if this write fails too, the order stays pending without a session and expires.
      await store.abort({
        userId: input.userId,
        orderId: state.order.id,
        idempotencyKey: input.idempotencyKey,
        reason: `checkout: provider session not created (${session.error.code})`,
        nowMs: input.nowMs,
      });
    }
    return err({ kind: "provider_failed", detail, retryable: retryable(session.error) });
  }
  const completed = await store.complete({
    userId: input.userId,
    orderId: state.order.id,
    idempotencyKey: input.idempotencyKey,
    providerRef: session.value.providerRef,
    response: session.value.answer,
    nowMs: input.nowMs,
  });
  if (!completed.ok) return err({ kind: "unavailable", error: completed.error });
  return ok({ answer: session.value.answer, replayed: !fresh });
}
