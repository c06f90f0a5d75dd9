/**
 * Calls one Postgres function through supabase-js `.rpc()` and turns its `{ data, error, status }` into a
 * Result, classified by the one table below (`classifyFailure`). A failure that passes on its own (network,
 * 5xx, a timeout) is transient; one that says payguard is misconfigured or out of step with its database
 * (401, 403 / 42501, 404 PGRST202 / 42883, 406 PGRST106) is `misconfigured` and carries its class: both are
 * answered 5xx so the provider keeps retrying until it is fixed. Only the rest (a function's own refusal,
 * P0001, a conflict) is permanent. Every call is aborted after SUPABASE_CALL_TIMEOUT_MS, so one hung call
 * cannot hold an order's OrderGuard queue: a timeout is transient too (the database functions are
 * idempotent).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import {
  type DataApiFault,
  err,
  type InfraError,
  type InfraErrorKind,
  ok,
  type Result,
} from "../ledger/result.ts";

/** supabase-js bound to schema payguard; untyped, since the SQL tests pin each function's contract. */
// biome-ignore lint/suspicious/noExplicitAny: no generated database types
export type PayguardClient = SupabaseClient<any, "public", "payguard">;

export type RpcResult<T> = Promise<Result<T, InfraError>>;

/** Longest one `.rpc()` may take; below ORDER_GUARD_QUEUE_WAIT_MS_MAX and WeChat's 5 s answer window. */
export const SUPABASE_CALL_TIMEOUT_MS = 3_500;

const HTTP_SERVER_ERROR_MIN = 500;
const HTTP_TOO_MANY_REQUESTS = 429;
/** What the gateway or PostgREST answers when the database cannot be reached (or the call never got an answer). */
const UNREACHABLE_STATUSES: ReadonlySet<number> = new Set([0, 502, 503, 504]);
/** The function is not where the code expects it: missing (PGRST202, 42883) or ambiguous after a partial upgrade (PGRST203). */
const FUNCTION_MISSING_CODES: ReadonlySet<string> = new Set(["PGRST202", "PGRST203", "42883"]);

export interface Classified {
  kind: InfraErrorKind;
  fault?: DataApiFault;
}

/**
 * The classification table: what one Data API answer means for payguard. `status` is the HTTP status
 * supabase-js reports (0: no answer), `code` the PostgREST / SQLSTATE code of the body (empty when none).
 */
export function classifyFailure(status: number, code: string): Classified {
  if (UNREACHABLE_STATUSES.has(status)) return { kind: "transient", fault: "unavailable" };
  if (status >= HTTP_SERVER_ERROR_MIN || status === HTTP_TOO_MANY_REQUESTS) return { kind: "transient" };
  if (code === "PGRST106") return { kind: "misconfigured", fault: "schema_not_exposed" };
  // With the secret key a 401 means the key itself was refused (deleted, rotated, another project's).
  if (status === 401) return { kind: "misconfigured", fault: "key_rejected" };
  if (status === 403 || code === "42501") return { kind: "misconfigured", fault: "permission_denied" };
  if (status === 404 || FUNCTION_MISSING_CODES.has(code))
    return { kind: "misconfigured", fault: "function_missing" };
  return { kind: "permanent" };
}

export async function callRpc<T>(
  client: PayguardClient,
  fn: string,
  args: Record<string, unknown>,
): RpcResult<T> {
  try {
    const { data, error, status } = await client
      .rpc(fn, args)
      .abortSignal(AbortSignal.timeout(SUPABASE_CALL_TIMEOUT_MS));
    if (error) {
      return err({
        ...classifyFailure(status, error.code ?? ""),
        code: error.code || `HTTP_${status}`,
        message: `${fn}: ${error.message}`,
      });
    }
    return ok(data as T);
  } catch (error) {
    // supabase-js does not throw by default; anything thrown here is a network-level failure.
    return err({
      kind: "transient",
      fault: "unavailable",
      code: "NETWORK",
      message: `${fn}: ${(error as Error).message}`,
    });
  }
}
