import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@supabase/supabase-js";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase } from "../../test/support/node/scratch-db.ts";
import { ConnectFailed, toRpcError } from "./rpc.ts";
import { type StandIn, startStandIn } from "./standin.ts";

const FIXTURES = new URL("../../test/fixtures/standin-migrations/", import.meta.url).pathname;
const JWT_SECRET = "standin-test-secret-0123456789abcdef";
const ALICE = "11111111-1111-4111-8111-111111111111";

const backends: Array<[string, () => Promise<{ databaseUrl?: string; drop?: () => Promise<void> }>]> = [
  ["PGlite", async () => ({})],
];
if (process.env.DATABASE_URL) {
  const base = process.env.DATABASE_URL;
  backends.push([
    "Postgres",
    async () => {
      const db = await createScratchDatabase(base, "payguard_standin");
      return { databaseUrl: db.url, drop: db.drop };
    },
  ]);
} else {
  console.log("stand-in: real-Postgres variant skipped (DATABASE_URL is not set)");
}

describe.each(backends)("stand-in on %s", (name, open) => {
  let standIn: StandIn;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const backend = await open();
    drop = backend.drop;
    standIn = await startStandIn({
      jwtSecret: JWT_SECRET,
      migrationsDir: FIXTURES,
      databaseUrl: backend.databaseUrl,
      testControl: true,
    });
  });
  afterAll(async () => {
    await standIn.close();
    await drop?.();
  });

  const rpc = (
    fn: string,
    init: { body?: unknown; headers?: Record<string, string>; method?: string } = {},
  ) =>
    fetch(`${standIn.url}/rest/v1/rpc/${fn}`, {
      method: init.method ?? "POST",
      headers: {
        apikey: standIn.anonKey,
        authorization: `Bearer ${standIn.serviceRoleKey}`,
        "content-type": "application/json",
        ...init.headers,
      },
      body:
        init.body === undefined
          ? undefined
          : typeof init.body === "string"
            ? init.body
            : JSON.stringify(init.body),
    });

  it("shapes results like PostgREST: scalar, object, array, 204 for void", async () => {
    const client = createClient(standIn.url, standIn.serviceRoleKey);
    expect((await client.rpc("add_numbers", { p_a: 2, p_b: 5 })).data).toBe(7);
    expect((await client.rpc("add_numbers", { p_a: 2 })).data).toBe(3);
    expect((await client.rpc("echo_json", { p_value: { a: [1, "x"] } })).data).toEqual({
      echo: { a: [1, "x"] },
    });
    expect((await client.rpc("make_pair", { p_left: "l", p_right: 3 })).data).toEqual({
      left_value: "l",
      right_value: 3,
    });
    expect((await client.rpc("count_to", { p_n: 3 })).data).toEqual([1, 2, 3]);
    const response = await rpc("do_nothing", { body: {} });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect(response.headers.get("content-type")).toBeNull();
  });

  it("runs GET calls read-only with arguments from the query string", async () => {
    const response = await fetch(`${standIn.url}/rest/v1/rpc/add_numbers?p_a=4&p_b=4`, {
      headers: { apikey: standIn.serviceRoleKey },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toBe(8);
    const write = await fetch(`${standIn.url}/rest/v1/rpc/insert_unique?p_id=99`, {
      headers: { apikey: standIn.serviceRoleKey },
    });
    expect(write.status).toBe(405);
    expect((await write.json()).code).toBe("25006");
  });

  it.each([
    ["raise_business", {}, 400, "P0001"],
    ["raise_payment_required", {}, 402, "PT402"],
    ["missing_function", {}, 404, "PGRST202"],
    ["add_numbers", { p_unknown: 1 }, 404, "PGRST202"],
  ])("maps %s to status %i with code %s", async (fn, body, status, code) => {
    const response = await rpc(fn, { body });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ code, message: expect.any(String), details: null, hint: null });
  });

  it("maps a unique violation to 409", async () => {
    expect((await rpc("insert_unique", { body: { p_id: 1 } })).status).toBe(204);
    const again = await rpc("insert_unique", { body: { p_id: 1 } });
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe("23505");
  });

  it("rejects missing or foreign API keys and invalid bearer tokens", async () => {
    expect((await rpc("add_numbers", { body: { p_a: 1 }, headers: { apikey: "" } })).status).toBe(401);
    const foreign = await rpc("add_numbers", { body: { p_a: 1 }, headers: { apikey: "a.b.c" } });
    expect(foreign.status).toBe(401);
    expect(await foreign.json()).toMatchObject({ message: "Invalid API key" });
    const badBearer = await rpc("add_numbers", {
      body: { p_a: 1 },
      headers: { authorization: "Bearer x.y.z" },
    });
    expect(badBearer.status).toBe(401);
    expect((await badBearer.json()).code).toBe("PGRST301");
    const expired = standIn.tokenFor("service_role", { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(
      (await rpc("add_numbers", { body: { p_a: 1 }, headers: { authorization: `Bearer ${expired}` } }))
        .status,
    ).toBe(401);
  });

  it("switches role per request and exposes the JWT claims to SQL", async () => {
    const aliceToken = standIn.tokenFor("authenticated", { sub: ALICE });
    const whoami = await rpc("whoami", { body: {}, headers: { authorization: `Bearer ${aliceToken}` } });
    expect(await whoami.json()).toEqual({ role: "authenticated", sub: ALICE });
    const anon = await rpc("whoami", { body: {}, headers: { authorization: `Bearer ${standIn.anonKey}` } });
    expect(await anon.json()).toEqual({ role: "anon", sub: null });
  });

  it("enforces grants (401 for anon, 403 for authenticated) and row-level security", async () => {
    const anon = await rpc("service_only", {
      body: {},
      headers: { authorization: `Bearer ${standIn.anonKey}` },
    });
    expect(anon.status).toBe(401);
    expect((await anon.json()).code).toBe("42501");
    const aliceToken = standIn.tokenFor("authenticated", { sub: ALICE });
    const alice = await rpc("service_only", { body: {}, headers: { authorization: `Bearer ${aliceToken}` } });
    expect(alice.status).toBe(403);
    const aliceClient = createClient(standIn.url, standIn.anonKey, {
      global: { headers: { Authorization: `Bearer ${aliceToken}` } },
    });
    expect((await aliceClient.rpc("visible_notes")).data).toEqual(["mine"]);
    expect((await createClient(standIn.url, standIn.serviceRoleKey).rpc("service_only")).data).toBe("secret");
  });

  it("maps API keys like Supabase's gateway: secret → service_role, publishable → anon, user JWT → authenticated", async () => {
    const whoami = async (headers: Record<string, string>) => {
      const response = await fetch(`${standIn.url}/rest/v1/rpc/whoami`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
      return { status: response.status, body: await response.json() };
    };
    const { secretKey, publishableKey } = standIn;
    expect(secretKey).toMatch(/^sb_secret_/);
    expect(publishableKey).toMatch(/^sb_publishable_/);
    expect((await whoami({ apikey: secretKey })).body).toEqual({ role: "service_role", sub: null });
    expect((await whoami({ apikey: secretKey, authorization: `Bearer ${secretKey}` })).body.role).toBe(
      "service_role",
    );
    expect((await whoami({ apikey: publishableKey })).body).toEqual({ role: "anon", sub: null });
    for (const alg of ["ES256", "RS256"] as const) {
      const token = await standIn.userToken(ALICE, { alg });
      expect((await whoami({ apikey: publishableKey, authorization: `Bearer ${token}` })).body).toEqual({
        role: "authenticated",
        sub: ALICE,
      });
    }
    expect((await createClient(standIn.url, secretKey).rpc("service_only")).data).toBe("secret");
    expect((await createClient(standIn.url, publishableKey).rpc("service_only")).status).toBe(401);
  });

  it("refuses a wrong or missing key the way Supabase does", async () => {
    const call = (headers: Record<string, string>) =>
      fetch(`${standIn.url}/rest/v1/rpc/whoami`, { method: "POST", headers, body: "{}" });
    const missing = await call({});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      message: "No API key found in request",
      hint: "No `apikey` request header or url param was found.",
    });
    for (const wrong of [
      `${standIn.secretKey}x`,
      "sb_secret_0000000000000000000000000000000",
      "sb_publishable_0000000000000000000000000000",
      standIn.tokenFor("authenticated", { sub: ALICE }),
    ]) {
      const response = await call({ apikey: wrong });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ message: "Invalid API key" });
    }
    const expiredUser = await standIn.userToken(ALICE, { expiresInS: -10 });
    const expired = await call({ apikey: standIn.publishableKey, authorization: `Bearer ${expiredUser}` });
    expect(expired.status).toBe(401);
    expect((await expired.json()).code).toBe("PGRST301");
  });

  it("publishes its signing keys as a JWKS that verifies its user tokens, across rotation", async () => {
    const jwksUrl = new URL(`${standIn.url}/auth/v1/.well-known/jwks.json`);
    const before = (await (await fetch(jwksUrl)).json()) as { keys: Array<{ kid: string; alg: string }> };
    expect(before.keys.map((key) => key.alg).sort()).toEqual(["ES256", "RS256"]);
    const rotated = await standIn.rotateSigningKeys();
    const after = (await (await fetch(jwksUrl)).json()) as { keys: Array<{ kid: string }> };
    expect(after.keys.map((key) => key.kid)).toEqual(
      expect.arrayContaining([rotated.ES256, rotated.RS256, ...before.keys.map((key) => key.kid)]),
    );
    const token = await standIn.userToken(ALICE, { alg: "RS256" });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(jwksUrl), {
      issuer: `${standIn.url}/auth/v1`,
      audience: "authenticated",
    });
    expect(protectedHeader.kid).toBe(rotated.RS256);
    expect(payload).toMatchObject({ sub: ALICE, role: "authenticated" });
  });

  it("follows PostgREST's schema profiles: Content-Profile for writes, Accept-Profile for reads", async () => {
    const post = (headers: Record<string, string>) => rpc("whereami", { body: {}, headers });
    expect(await (await post({})).json()).toBe("public");
    expect(await (await post({ "content-profile": "payguard" })).json()).toBe("payguard");
    const read = await fetch(`${standIn.url}/rest/v1/rpc/whereami`, {
      headers: { apikey: standIn.secretKey, "accept-profile": "payguard" },
    });
    expect(await read.json()).toBe("payguard");
    const client = createClient(standIn.url, standIn.secretKey, { db: { schema: "payguard" } });
    expect((await client.rpc("whereami")).data).toBe("payguard");
    expect((await client.rpc("whereami", undefined, { get: true })).data).toBe("payguard");
    const hidden = await post({ "content-profile": "hidden" });
    expect(hidden.status).toBe(406);
    expect(await hidden.json()).toEqual({
      code: "PGRST106",
      message: "Invalid schema: hidden",
      details: null,
      hint: "Only the following schemas are exposed: public, payguard",
    });
    const hiddenRead = await fetch(`${standIn.url}/rest/v1/rpc/whereami`, {
      headers: { apikey: standIn.secretKey, "accept-profile": "hidden" },
    });
    expect(hiddenRead.status).toBe(406);
  });

  it("rejects malformed JSON and oversized bodies", async () => {
    const malformed = await rpc("add_numbers", { body: "{nope" });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe("PGRST102");
    const huge = await rpc("echo_json", { body: { p_value: "x".repeat(1024 * 1024) } });
    expect(huge.status).toBe(413);
  });

  it("answers 503 PGRST000 while marked unavailable, as PostgREST does when it cannot connect", async () => {
    const client = createClient(standIn.url, standIn.serviceRoleKey);
    standIn.setUnavailable(true);
    const down = await client.rpc("add_numbers", { p_a: 1 });
    standIn.setUnavailable(false);
    expect(down.status).toBe(503);
    expect(down.error).toMatchObject({
      code: "PGRST000",
      message: "Database connection error. Retrying the connection.",
    });
    expect((await client.rpc("add_numbers", { p_a: 1 })).status).toBe(200);
  });

  it("answers injected database failures as a connection lost mid-request: 503 PGRST001", async () => {
    const client = createClient(standIn.url, standIn.serviceRoleKey);
    standIn.setFaultRate(1, 1);
    const failed = await client.rpc("add_numbers", { p_a: 1 });
    standIn.setFaultRate(0, 0);
    expect(failed.status).toBe(503);
    expect(failed.error).toMatchObject({
      code: "PGRST001",
      message: "Database client error. Retrying the connection.",
    });
    expect((await client.rpc("add_numbers", { p_a: 1 })).status).toBe(200);
  });

  it("loses an injected share of connections inside the transaction: 503, nothing committed, the next call works", async () => {
    const client = createClient(standIn.url, standIn.serviceRoleKey);
    standIn.setFaultRate(0, 1, 1);
    const lost = await client.rpc("insert_unique", { p_id: 9001 });
    standIn.setFaultRate(0, 0);
    expect(lost.status).toBe(503);
    expect(["57P01", "PGRST001"]).toContain(lost.error?.code);
    expect(await standIn.query("select id from public.uniques where id = 9001")).toEqual([]);
    expect((await client.rpc("insert_unique", { p_id: 9001 })).status).toBe(204);
    expect(standIn.stats(false)).toMatchObject({ lostConnections: 1, lostByFunction: { insert_unique: 1 } });
  });

  it("changes its exposed schemas at runtime like the Data API settings: a schema left out is 406 PGRST106", async () => {
    const client = createClient(standIn.url, standIn.secretKey, { db: { schema: "payguard" } });
    standIn.setExposedSchemas(["public"]);
    try {
      const refused = await client.rpc("whereami");
      expect(refused.status).toBe(406);
      expect(refused.error).toMatchObject({
        code: "PGRST106",
        hint: "Only the following schemas are exposed: public",
      });
    } finally {
      standIn.setExposedSchemas(["public", "payguard"]);
    }
    expect((await client.rpc("whereami")).data).toBe("payguard");
  });

  it("refuses the service-role keys with 401 once they are revoked, and only those", async () => {
    const post = (token: string, path: string, body: unknown) =>
      fetch(`${standIn.url}/__standin/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post(standIn.secretKey, "revoke-keys", { revoked: true })).status).toBe(200);
    try {
      for (const key of [standIn.secretKey, standIn.serviceRoleKey]) {
        const refused = await createClient(standIn.url, key).rpc("add_numbers", { p_a: 1 });
        expect(refused.status).toBe(401);
        expect(refused.error).toMatchObject({ message: "Invalid API key" });
      }
      expect(
        (await createClient(standIn.url, standIn.publishableKey).rpc("add_numbers", { p_a: 1 })).data,
      ).toBe(2);
    } finally {
      await post(standIn.secretKey, "revoke-keys", { revoked: false });
    }
    expect((await createClient(standIn.url, standIn.secretKey).rpc("add_numbers", { p_a: 1 })).data).toBe(2);
  });

  it.runIf(name === "Postgres")(
    "answers a session the server ends mid-call (57P01) with 503 and serves the next call on a fresh connection",
    async () => {
      await standIn.query(
        "create or replace function public.nap(p_s float8) returns int language sql as $$ select 1 from pg_sleep(p_s) $$",
      );
      await standIn.query("grant execute on function public.nap(float8) to service_role");
      const client = createClient(standIn.url, standIn.secretKey);
      // supabase-js sends nothing until the builder is awaited: start the call now.
      const running = client.rpc("nap", { p_s: 10 }).then((answer) => answer);
      const napping = `select pid from pg_stat_activity where query like '%"nap"(%' and pid <> pg_backend_pid()`;
      for (let attempt = 0; attempt < 100 && (await standIn.query(napping)).length === 0; attempt += 1)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await standIn.query(`select pg_terminate_backend(pid) from (${napping}) as found`);
      const cut = await running;
      expect(cut.status).toBe(503);
      expect(cut.error?.code).toBe("57P01");
      expect((await client.rpc("add_numbers", { p_a: 1 })).data).toBe(2);
    },
  );

  it("guards the test-only control endpoints with the secret or service-role key", async () => {
    const post = (token: string, path: string, body: unknown) =>
      fetch(`${standIn.url}/__standin/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post(standIn.anonKey, "sql", { sql: "select 1" })).status).toBe(404);
    expect((await post(standIn.publishableKey, "user-token", { userId: ALICE })).status).toBe(404);
    const minted = await post(standIn.secretKey, "user-token", { userId: ALICE, alg: "RS256" });
    const { token } = (await minted.json()) as { token: string };
    const whoami = await rpc("whoami", { body: {}, headers: { authorization: `Bearer ${token}` } });
    expect(await whoami.json()).toEqual({ role: "authenticated", sub: ALICE });
    const rows = await post(standIn.serviceRoleKey, "sql", { sql: "select $1::int + 1 as n", params: [41] });
    expect(await rows.json()).toEqual([{ n: 42 }]);
    expect((await post(standIn.serviceRoleKey, "unavailable", { down: true })).status).toBe(200);
    expect((await rpc("add_numbers", { body: { p_a: 1 } })).status).toBe(503);
    await post(standIn.serviceRoleKey, "unavailable", { down: false });
    expect((await rpc("add_numbers", { body: { p_a: 1 } })).status).toBe(200);
  });
});

describe("stand-in: database failures answered as PostgREST answers them", () => {
  const answer = (error: unknown) => {
    const { status, body } = toRpcError(error, "service_role");
    return { status, code: body.code };
  };

  it.each([
    [
      "no connection could be opened",
      new ConnectFailed(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })),
      503,
      "PGRST000",
    ],
    [
      "the server refused the session at connect (starting up)",
      new ConnectFailed(Object.assign(new Error("starting up"), { code: "57P03" })),
      503,
      "PGRST000",
    ],
    [
      "the socket broke mid-request",
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      503,
      "PGRST001",
    ],
    ["the driver lost the connection", new Error("Connection terminated unexpectedly"), 503, "PGRST001"],
    [
      "a pooled client that broke earlier",
      new Error("Client has encountered a connection error and is not queryable"),
      503,
      "PGRST001",
    ],
    [
      "admin shutdown (57P01)",
      { code: "57P01", severity: "FATAL", message: "terminating connection due to administrator command" },
      503,
      "57P01",
    ],
    [
      "crash shutdown (57P02)",
      { code: "57P02", message: "terminating connection because of crash of another server process" },
      500,
      "57P02",
    ],
    [
      "cannot connect now (57P03)",
      { code: "57P03", message: "the database system is starting up" },
      500,
      "57P03",
    ],
    [
      "a statement timeout (57014)",
      { code: "57014", message: "canceling statement due to statement timeout" },
      500,
      "57014",
    ],
    ["a connection exception (08006)", { code: "08006", message: "connection failure" }, 503, "08006"],
    [
      "too many connections (53300)",
      { code: "53300", message: "sorry, too many clients already" },
      503,
      "53300",
    ],
    ["a configuration limit (53400)", { code: "53400", message: "limit" }, 500, "53400"],
    ["a serialization failure (40001)", { code: "40001", message: "could not serialize" }, 500, "40001"],
    ["an internal error (XX000)", { code: "XX000", message: "internal" }, 500, "XX000"],
    ["an error without any code", new TypeError("bug"), 500, "XX000"],
    ["a function's own raise (P0001)", { code: "P0001", message: "refused" }, 400, "P0001"],
    ["another PL/pgSQL error", { code: "P0H01", message: "hook" }, 500, "P0H01"],
    ["an undefined function (42883)", { code: "42883", message: "no function" }, 404, "42883"],
    [
      "insufficient privilege as a signed-in role (42501)",
      { code: "42501", message: "denied" },
      403,
      "42501",
    ],
    ["a bad input value (22P02)", { code: "22P02", message: "invalid input syntax" }, 400, "22P02"],
    ["a custom status (PT402)", { code: "PT402", message: "pay" }, 402, "PT402"],
  ])("%s", (_what, error, status, code) => {
    expect(answer(error)).toEqual({ status, code });
  });

  it("answers insufficient privilege of the anonymous role with 401", () => {
    expect(toRpcError({ code: "42501", message: "denied" }, "anon").status).toBe(401);
  });
});

describe("stand-in persistence", () => {
  it("keeps PGlite data between restarts and applies each migration once", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "payguard-standin-"));
    try {
      const first = await startStandIn({ jwtSecret: JWT_SECRET, migrationsDir: FIXTURES, dataDir });
      await first.query("insert into public.uniques (id) values (7)");
      await first.close();
      const second = await startStandIn({ jwtSecret: JWT_SECRET, migrationsDir: FIXTURES, dataDir });
      expect(await second.query("select id from public.uniques")).toEqual([{ id: 7 }]);
      const applied = await second.query<{ n: number }>(
        "select count(*)::int as n from payguard_meta.applied_migrations",
      );
      expect(applied).toEqual([{ n: 3 }]);
      await second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
