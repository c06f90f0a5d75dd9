/**
 * Calls one Postgres function through supabase-js `.rpc()` and turns its `{ data, error, status }` into a
 * Result. Network failures (status 0), 5xx and 503 are transient: the caller answers 5xx so the provider
 * retries. Everything else (a function raising, a bad argument) is permanent.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";

/** supabase-js bound to schema payguard; untyped, since the SQL tests pin each function's contract. */
// biome-ignore lint/suspicious/noExplicitAny: no generated database types
export type PayguardClient = SupabaseClient<any, "public", "payguard">;

export type RpcResult<T> = Promise<Result<T, InfraError>>;

const HTTP_SERVER_ERROR_MIN = 500;

export function classifyStatus(status: number): InfraError["kind"] {
  return status === 0 || status >= HTTP_SERVER_ERROR_MIN ? "transient" : "permanent";
}

export async function callRpc<T>(
  client: PayguardClient,
  fn: string,
  args: Record<string, unknown>,
): RpcResult<T> {
  try {
    const { data, error, status } = await client.rpc(fn, args);
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
