/** Maps the order JSON returned by the ledger functions (snake_case, ISO times) to the domain `Order`. */
import type { Order, OrderStatus, Provider } from "../ledger/types.ts";

export interface OrderRow {
  id: string;
  user_id: string;
  package_id: string;
  provider: Provider;
  status: OrderStatus;
  amount_minor: number | string;
  currency: string;
  credits: number | string;
  provider_ref: string | null;
  payment_ref: string | null;
  discount_minor?: number | string;
  created_at: string;
  expires_at: string;
  next_check_at: string | null;
  check_attempts: number;
}

const toMs = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

export function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    userId: row.user_id,
    packageId: row.package_id,
    provider: row.provider,
    status: row.status,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    credits: Number(row.credits),
    providerRef: row.provider_ref,
    paymentRef: row.payment_ref,
    discountMinor: Number(row.discount_minor ?? 0),
    createdAtMs: Date.parse(row.created_at),
    expiresAtMs: Date.parse(row.expires_at),
    nextCheckAtMs: toMs(row.next_check_at),
    checkAttempts: row.check_attempts,
  };
}

export const toOrderOrNull = (row: OrderRow | null): Order | null => (row ? toOrder(row) : null);
