/**
 * Calls one Postgres function through supabase-js `.rpc()` and turns its `{ data, error, status }` into a
 * Result. Network failures (status 0), 5xx and 503 are transient: the caller answers 5xx so the provider
 * retries. Everything else (a function raising, a bad argument) is permanent. Every call is aborted after
 * SUPABASE_CALL_TIMEOUT_MS, so one hung call cannot hold an order's OrderGuard queue: a timeout is
 * transient too (the provider retries; the database functions are idempotent).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";

/** supabase-js bound to schema payguard; untyped, since the SQL tests pin each function's contract. */
// biome-ignore lint/suspicious/noExplicitAny: no generated database types
export type PayguardClient = SupabaseClient<any, "public", "payguard">;

export type RpcResult<T> = Promise<Result<T, InfraError>>;

const HTTP_SERVER_ERROR_MIN = 500;
/** Longest one `.rpc()` may take; below ORDER_GUARD_QUEUE_WAIT_MS_MAX and WeChat's 5 s answer window. */
export const SUPABASE_CALL_TIMEOUT_MS = 3_500;

export function classifyStatus(status: number): InfraError["kind"] {
  return status === 0 || status >= HTTP_SERVER_ERROR_MIN ? "transient" : "permanent";
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
        kind: classifyStatus(status),
        code: error.code || `HTTP_${status}`,
        message: `${fn}: ${error.message}`,
      });
    }
    return ok(data as T);
  } catch (error) {
    // supabase-js does not throw by default; anything thrown here is a network-level failure.
    return err({ kind: "transient", code: "NETWORK", message: `${fn}: ${(error as Error).message}` });
  }
}
