/**
 * Function signatures per `<schema>.<name>`, looked up once instead of on every RPC (PostgREST keeps a
 * schema cache too). Forgotten whenever owner SQL might change a function, so tests that create or
 * replace functions still see the new shape.
 */
import type { TxClient } from "./database.ts";
import { type FunctionSignature, loadSignatures } from "./rpc.ts";

const DDL = /\b(create|drop|alter|replace)\b/i;

export function createSignatureCache() {
  const known = new Map<string, FunctionSignature[]>();
  return {
    async get(tx: TxClient, schema: string, name: string): Promise<FunctionSignature[]> {
      const key = `${schema}.${name}`;
      const cached = known.get(key);
      if (cached) return cached;
      const loaded = await loadSignatures(tx, schema, name);
      // An unknown function is not cached: it may be created by the next migration or test.
      if (loaded.length > 0) known.set(key, loaded);
      return loaded;
    },
    forgetIfDdl(sql: string): void {
      if (DDL.test(sql)) known.clear();
    },
  };
}
