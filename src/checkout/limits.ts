/**
 * Abuse limits of the public API, per user: accounts are free wherever the app's sign-up or anonymous
 * sign-in is open, so one account must not be able to hold a limited package's whole stock with unpaid
 * checkouts, nor turn a few checkouts and polls into a burst of provider calls. Each limit is a named
 * default, configurable by its variable; the database enforces the checkout limits in the transaction that
 * writes the order (`checkout_begin`) and the confirm limit in the one that claims the query
 * (`claim_confirm_check`), so concurrent requests of one user never pass a limit together.
 */

/** Unpaid checkouts (pending orders) one user may have open at once, over all packages. */
export const CHECKOUT_PENDING_PER_USER_MAX_DEFAULT = 10;
/** Unpaid checkouts of one package one user may have open at once (a retry or a second tab still fits). */
export const CHECKOUT_PENDING_PER_USER_PACKAGE_MAX_DEFAULT = 3;
/** Units of one limited-stock package one user may hold, pending or bought, as the stock counts them. */
export const CHECKOUT_STOCK_PER_USER_MAX_DEFAULT = 2;
/**
 * Provider queries the success page may make for one user in a minute. Each order is queried at most every
 * 10 s however often its page polls (src/http/orders.ts), so this leaves two orders' pages polling at once.
 */
export const CONFIRM_QUERIES_PER_USER_MINUTE_MAX_DEFAULT = 12;
/** Any limit above this is refused as a typo; it is already no limit at all for one user. */
const LIMIT_VALUE_MAX = 1_000_000;

export interface PublicLimits {
  pendingPerUserMax: number;
  pendingPerUserPackageMax: number;
  stockPerUserMax: number;
  confirmQueriesPerUserMinuteMax: number;
}

type RawEnv = Record<string, unknown>;

function parseLimit(env: RawEnv, name: string, fallback: number, problems: string[]): number {
  const raw = typeof env[name] === "string" ? (env[name] as string).trim() : "";
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > LIMIT_VALUE_MAX) {
    problems.push(`${name} must be a whole number from 1 to ${LIMIT_VALUE_MAX}`);
    return fallback;
  }
  return value;
}

/** Each limit with the variable that sets it and its default (docs/checkout.md "Limits per user"). */
const LIMIT_VARIABLES: Record<keyof PublicLimits, [variable: string, fallback: number]> = {
  pendingPerUserMax: ["CHECKOUT_PENDING_PER_USER_MAX", CHECKOUT_PENDING_PER_USER_MAX_DEFAULT],
  pendingPerUserPackageMax: [
    "CHECKOUT_PENDING_PER_USER_PACKAGE_MAX",
    CHECKOUT_PENDING_PER_USER_PACKAGE_MAX_DEFAULT,
  ],
  stockPerUserMax: ["CHECKOUT_STOCK_PER_USER_MAX", CHECKOUT_STOCK_PER_USER_MAX_DEFAULT],
  confirmQueriesPerUserMinuteMax: [
    "CONFIRM_QUERIES_PER_USER_MINUTE_MAX",
    CONFIRM_QUERIES_PER_USER_MINUTE_MAX_DEFAULT,
  ],
};

export function parsePublicLimits(env: RawEnv, problems: string[]): PublicLimits {
  const entries = Object.entries(LIMIT_VARIABLES).map(([key, [variable, fallback]]) => [
    key,
    parseLimit(env, variable, fallback, problems),
  ]);
  return Object.fromEntries(entries) as unknown as PublicLimits;
}

export const DEFAULT_PUBLIC_LIMITS: PublicLimits = parsePublicLimits({}, []);
