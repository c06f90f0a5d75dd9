/**
 * Builds the adapters a request or job needs from the bindings, once per isolate. The supabase-js
 * client is created with no session persistence: the worker only ever calls functions with the
 * service-role key.
 */
import { createClient } from "@supabase/supabase-js";
import { createSupabaseLedgerStore } from "./db/ledger-store.ts";
import { type Config, loadConfig } from "./env.ts";
import type { LedgerStore } from "./ledger/ports.ts";

export interface Deps {
  config: Config;
  store: LedgerStore;
}

const built = new WeakMap<object, Deps>();

export function getDeps(env: Env): Deps {
  const cached = built.get(env);
  if (cached) return cached;
  const config = loadConfig(env);
  const client = createClient(config.supabaseUrl, config.supabaseServiceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const deps = { config, store: createSupabaseLedgerStore(client) };
  built.set(env, deps);
  return deps;
}
