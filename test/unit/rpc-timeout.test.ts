/**
 * One hung database call cannot stall an order's settlements: every `.rpc()` is aborted after
 * SUPABASE_CALL_TIMEOUT_MS and reported as transient (the caller answers 5xx and the provider retries).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callRpc, type PayguardClient } from "../../src/db/rpc.ts";

describe("callRpc timeout", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Accepts every request and never answers: a database that hangs.
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("aborts a hung call and reports it as transient", async () => {
    const client = createClient(url, "service-role-key", {
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: "payguard" },
    }) as unknown as PayguardClient;
    const result = await callRpc(client, "apply_payment", {});
    expect(result).toMatchObject({ ok: false, error: { kind: "transient", fault: "unavailable" } });
    expect(result.ok ? "" : result.error.message).toMatch(/abort|timeout/i);
  });
});
