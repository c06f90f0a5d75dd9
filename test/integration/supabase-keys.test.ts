import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { ConfigError } from "../../src/env.ts";
import { seedPackage } from "../support/worker/harness.ts";
import { createOrder } from "../support/worker/stripe.ts";

beforeAll(seedPackage);
afterEach(() => vi.restoreAllMocks());

/** The worker's own store (supabase-js against the stand-in) built from bindings with these keys. */
function storeWith(keys: Record<string, string | undefined>) {
  const { SUPABASE_SECRET_KEY: _current, ...rest } = env;
  return getDeps({ ...rest, ...keys } as unknown as Env).store;
}

describe("Supabase API keys the worker accepts", () => {
  let orderId: string;
  beforeAll(async () => {
    orderId = await createOrder(crypto.randomUUID());
  });

  it("calls its functions with a secret key (sb_secret_…)", async () => {
    expect(env.SUPABASE_SECRET_KEY).toMatch(/^sb_secret_/);
    const found = await storeWith({ SUPABASE_SECRET_KEY: env.SUPABASE_SECRET_KEY }).getOrder(orderId);
    expect(found.ok && found.value?.id).toBe(orderId);
  });

  it("calls its functions with the legacy service_role JWT in SUPABASE_SECRET_KEY", async () => {
    const legacy = inject("standIn").serviceRoleKey;
    const found = await storeWith({ SUPABASE_SECRET_KEY: legacy }).getOrder(orderId);
    expect(found.ok && found.value?.id).toBe(orderId);
  });

  it("still reads the deprecated SUPABASE_SERVICE_ROLE_KEY, with a warning at startup", async () => {
    const warn = vi.spyOn(console, "warn");
    const store = storeWith({ SUPABASE_SERVICE_ROLE_KEY: inject("standIn").serviceRoleKey });
    const warnings = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(warnings).toContainEqual({
      level: "warn",
      event: "config_warning",
      warning: "SUPABASE_SERVICE_ROLE_KEY is deprecated: set SUPABASE_SECRET_KEY instead",
    });
    const found = await store.getOrder(orderId);
    expect(found.ok && found.value?.id).toBe(orderId);
  });

  it("refuses a publishable or anon key at startup: they cannot call payguard's functions", () => {
    const { publishableKey, anonKey } = inject("standIn");
    for (const key of [publishableKey, anonKey]) {
      expect(() => storeWith({ SUPABASE_SECRET_KEY: key })).toThrowError(ConfigError);
    }
  });

  it("gets a misconfiguration (retried, key_rejected), not data, when Supabase refuses the key", async () => {
    const found = await storeWith({ SUPABASE_SECRET_KEY: "sb_secret_wrong_wrong_wrong_wrong" }).getOrder(
      orderId,
    );
    expect(found.ok).toBe(false);
    if (!found.ok) expect(found.error).toMatchObject({ kind: "misconfigured", fault: "key_rejected" });
  });
});
