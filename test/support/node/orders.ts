/** A pending order as the ledger returns it, for unit tests of code that reads orders; override what matters. */
import type { Order } from "../../../src/ledger/types.ts";

export const TEST_NOW_MS = Date.UTC(2026, 10, 22, 12, 0, 0);

export function pendingOrder(overrides: Partial<Order> = {}): Order {
  return {
    id: "ord_0123456789abcdef01234567",
    userId: "00000000-0000-4000-8000-000000000001",
    packageId: "credits_100",
    provider: "stripe",
    status: "pending",
    amountMinor: 1999,
    currency: "USD",
    credits: 100,
    discountMinor: 0,
    providerRef: null,
    paymentRef: null,
    createdAtMs: TEST_NOW_MS,
    expiresAtMs: TEST_NOW_MS + 3_600_000,
    nextCheckAtMs: null,
    checkAttempts: 0,
    ...overrides,
  };
}
