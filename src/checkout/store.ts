/**
 * The checkout's view of the database: the catalogue and the three steps of an idempotent checkout
 * (begin, complete, abort), each one Postgres function and one transaction
 * (the "checkout" section of the baseline migration).
 */
import { type OrderRow, toOrder } from "../db/order-row.ts";
import { callRpc, type PayguardClient } from "../db/rpc.ts";
import type { StoreResult } from "../ledger/ports.ts";
import { ok } from "../ledger/result.ts";
import type { Order, Provider } from "../ledger/types.ts";
import type { PublicLimits } from "./limits.ts";

export interface PackageView {
  id: string;
  name: string;
  amountMinor: number;
  currency: string;
  /** Everything the purchase grants, bonus included. */
  credits: number;
  bonusCredits: number;
  /** null = unlimited */
  stockRemaining: number | null;
}

/**
 * What a checkout answered; stored as-is for replays (like the Checkout `url`, a PaymentIntent's
 * `clientSecret` lets whoever holds it pay that one order; the table has no grants to app users).
 */
export type CheckoutAnswer =
  | { orderId: string; url: string }
  | { orderId: string; paymentIntentId: string; clientSecret: string }
  | { orderId: string; codeUrl: string }
  | { orderId: string; payParams: Record<string, string> };

export type BeginResult =
  | { outcome: "created"; order: Order; packageName: string }
  | { outcome: "replayed"; order: Order; packageName: string; response: CheckoutAnswer | null }
  | { outcome: "conflict" }
  | { outcome: "unknown_package" }
  | { outcome: "out_of_stock" }
  | { outcome: "currency_not_supported" }
  | { outcome: "sales_paused" }
  /** One of the user's limits (src/checkout/limits.ts) refuses another order; nothing was written. */
  | { outcome: UserLimit };

/** Which per-user checkout limit refused an order, as `checkout_begin` names it. */
export type UserLimit = "package_pending_limit" | "pending_limit" | "stock_per_user_limit";
const USER_LIMITS: readonly string[] = ["package_pending_limit", "pending_limit", "stock_per_user_limit"];
const isUserLimit = (outcome: string): outcome is UserLimit => USER_LIMITS.includes(outcome);

export interface BeginInput {
  userId: string;
  packageId: string;
  provider: Provider;
  idempotencyKey: string | null;
  requestHash: string;
  expiresInS: number;
  /** The user limits `checkout_begin` checks (the success page's confirm limit is not one of them). */
  limits: Omit<PublicLimits, "confirmQueriesPerUserMinuteMax">;
  nowMs: number;
}

export interface CheckoutStore {
  listPackages(): StoreResult<PackageView[]>;
  begin(input: BeginInput): StoreResult<BeginResult>;
  complete(input: {
    userId: string;
    orderId: string;
    idempotencyKey: string | null;
    providerRef: string | null;
    response: CheckoutAnswer;
    nowMs: number;
  }): StoreResult<void>;
  abort(input: {
    userId: string;
    orderId: string;
    idempotencyKey: string | null;
    reason: string;
    nowMs: number;
  }): StoreResult<void>;
}

interface PackageRow {
  id: string;
  name: string;
  amount_minor: number | string;
  currency: string;
  credits: number;
  bonus_credits: number;
  stock_remaining: number | null;
}

interface BeginRow {
  outcome: BeginResult["outcome"];
  order: OrderRow | null;
  package_name: string | null;
  response: CheckoutAnswer | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function toBegin(row: BeginRow): BeginResult {
  if (row.outcome === "conflict") return { outcome: "conflict" };
  if (row.outcome === "unknown_package") return { outcome: "unknown_package" };
  if (row.outcome === "out_of_stock") return { outcome: "out_of_stock" };
  if (row.outcome === "currency_not_supported") return { outcome: "currency_not_supported" };
  if (row.outcome === "sales_paused") return { outcome: "sales_paused" };
  if (isUserLimit(row.outcome)) return { outcome: row.outcome };
  if (!row.order) throw new Error(`checkout_begin answered ${row.outcome} without an order`);
  const order = toOrder(row.order);
  const packageName = row.package_name ?? order.packageId;
  return row.outcome === "created"
    ? { outcome: "created", order, packageName }
    : { outcome: "replayed", order, packageName, response: row.response };
}

export function createSupabaseCheckoutStore(client: PayguardClient): CheckoutStore {
  return {
    async listPackages() {
      const result = await callRpc<PackageRow[]>(client, "list_packages", {});
      if (!result.ok) return result;
      return ok(
        result.value.map((row) => ({
          id: row.id,
          name: row.name,
          amountMinor: Number(row.amount_minor),
          currency: row.currency,
          credits: row.credits,
          bonusCredits: row.bonus_credits,
          stockRemaining: row.stock_remaining,
        })),
      );
    },
    async begin(input) {
      const result = await callRpc<BeginRow>(client, "checkout_begin", {
        p_user_id: input.userId,
        p_package_id: input.packageId,
        p_provider: input.provider,
        p_idempotency_key: input.idempotencyKey,
        p_request_hash: input.requestHash,
        p_now: iso(input.nowMs),
        p_expires_in_seconds: input.expiresInS,
        p_pending_max: input.limits.pendingPerUserMax,
        p_package_pending_max: input.limits.pendingPerUserPackageMax,
        p_stock_max: input.limits.stockPerUserMax,
      });
      return result.ok ? ok(toBegin(result.value)) : result;
    },
    async complete(input) {
      const result = await callRpc(client, "checkout_complete", {
        p_user_id: input.userId,
        p_order_id: input.orderId,
        p_idempotency_key: input.idempotencyKey,
        p_provider_ref: input.providerRef,
        p_response: input.response,
        p_now: iso(input.nowMs),
      });
      return result.ok ? ok(undefined) : result;
    },
    async abort(input) {
      const result = await callRpc(client, "checkout_abort", {
        p_user_id: input.userId,
        p_order_id: input.orderId,
        p_idempotency_key: input.idempotencyKey,
        p_reason: input.reason,
        p_now: iso(input.nowMs),
      });
      return result.ok ? ok(undefined) : result;
    },
  };
}
