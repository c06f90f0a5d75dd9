/**
 * Local Supabase stand-in (development and tests only; production talks to real Supabase). A small HTTP
 * server that speaks PostgREST's `/rest/v1/rpc/<fn>` contract, so the real supabase-js client works
 * against it, in front of PGlite (default) or a real Postgres (`databaseUrl`). Applies
 * supabase/migrations at start.
 *
 * Keys follow Supabase's gateway: the `apikey` header must hold the project's secret key (`sb_secret_…`,
 * role service_role), publishable key (`sb_publishable_…`, role anon) or a legacy JWT key signed with
 * the JWT secret; a user access token in `Authorization: Bearer` (signed by a key in the published JWKS,
 * or HS256 with the legacy secret) makes the call run as that user. A missing or wrong key is a 401.
 * `GET /auth/v1/.well-known/jwks.json` publishes the signing keys (see signing-keys.ts).
 *
 * Test-only control endpoints (enabled with `testControl`, guarded by the secret or service-role key):
 *   POST /__standin/unavailable {"down": bool}  every RPC answers 503 PGRST000, as PostgREST does when it
 *                                               cannot connect to the database
 *   POST /__standin/schemas {"schemas": [...]}  change the exposed schemas (the Data API settings): a schema
 *                                               left out answers 406 PGRST106
 *   POST /__standin/revoke-keys {"revoked": bool}  the service-role keys (secret key and legacy JWT) were
 *                                               rotated away: the gateway refuses them with 401 (control
 *                                               endpoints still take them)
 *   POST /__standin/sql {"sql", "params"}       run SQL as the owner and get the rows back
 *   POST /__standin/user-token {"userId", "alg"?, "expiresInS"?, "claims"?}  mint a user access token:
 *                                               {"token"}
 *   POST /__standin/rotate-signing-keys         new ES256 / RS256 signing keys: {"ES256": kid, "RS256": kid}
 *   POST /__standin/faults {"rate", "seed", "lostRate"?}  fail that share of RPCs with 503 PGRST001 (the
 *                                               connection lost mid-request), decided by a seeded stream;
 *                                               lostRate: that share loses its connection inside the
 *                                               transaction after the function ran (57P01, rolled back)
 *   POST /__standin/stats {"reset"?}            RPC counts and database time per function (benchmarks)
 * Every RPC answer carries `Server-Timing: db;dur=<ms>`: the time spent inside the database transaction.
 * A database that really fails answers as PostgREST does too (rpc.ts `toRpcError`): no connection 503
 * PGRST000, a connection lost mid-request 503 PGRST001, a server error by its SQLSTATE.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { applyMigrations, MIGRATIONS_DIR } from "../migrate.ts";
import { type Database, openPglite, openPostgres, type TxClient } from "./database.ts";
import { type JwtClaims, signJwt, verifyJwt } from "./jwt.ts";
import {
  buildCall,
  CONNECT_FAILED,
  CONNECTION_LOST,
  pickSignature,
  type RpcError,
  toRpcError,
} from "./rpc.ts";
import { createRpcStats, type RpcStatsSnapshot } from "./rpc-stats.ts";
import { createSignatureCache } from "./signature-cache.ts";
import { createSigningKeys, type UserTokenOptions } from "./signing-keys.ts";

export interface StandInOptions {
  port?: number;
  databaseUrl?: string;
  dataDir?: string;
  jwtSecret: string;
  migrationsDir?: string;
  testControl?: boolean;
  /** PostgREST's `db-schemas`: the exposed schemas, the first being the default profile. */
  schemas?: string[];
}

export interface StandIn {
  url: string;
  /** `sb_secret_…`: role service_role. */
  secretKey: string;
  /** `sb_publishable_…`: role anon. */
  publishableKey: string;
  /** Legacy JWT keys (HS256 with the JWT secret), still accepted like Supabase does until they retire. */
  anonKey: string;
  serviceRoleKey: string;
  tokenFor(role: Role, claims?: Record<string, unknown>): string;
  /** A Supabase Auth access token for `userId`, issued by `<url>/auth/v1` (ES256 by default). */
  userToken(userId: string, options?: UserTokenOptions): Promise<string>;
  /** New signing keys with new kids; the old public keys stay published. */
  rotateSigningKeys(): Promise<{ ES256: string; RS256: string }>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Every RPC answers 503 PGRST000 (no database connection) while `down`. */
  setUnavailable(down: boolean): void;
  /** The Data API's exposed schemas from now on (the first is the default profile). */
  setExposedSchemas(schemas: string[]): void;
  /** While `revoked`, the gateway refuses the service-role keys (secret key, legacy JWT) with 401. */
  setServiceKeysRevoked(revoked: boolean): void;
  /**
   * Fails `rate` (0..1) of the RPCs with a transient 503, drawn from a stream seeded with `seed`, and
   * `lostRate` of the rest by ending their connection before the commit (57P01 / connection terminated).
   */
  setFaultRate(rate: number, seed: number, lostRate?: number): void;
  /** Per-function RPC counts and database time since start or the last reset. */
  stats(reset?: boolean): RpcStatsSnapshot;
  close(): Promise<void>;
}

type Role = "anon" | "authenticated" | "service_role";
const ROLES: readonly string[] = ["anon", "authenticated", "service_role"];
export const REQUEST_BODY_MAX_BYTES = 1024 * 1024;
const KEY_LIFETIME_S = 10 * 365 * 24 * 3600;
/** Supabase exposes `public` by default; payguard's own schema is added to the Data API's list. */
export const EXPOSED_SCHEMAS_DEFAULT = ["public", "payguard"];
export const JWKS_PATH = "/auth/v1/.well-known/jwks.json";

interface Reply {
  status: number;
  body?: unknown;
  dbMs?: number;
}

const INVALID_API_KEY: Reply = {
  status: 401,
  body: { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." },
};
const NO_API_KEY: Reply = {
  status: 401,
  body: {
    message: "No API key found in request",
    hint: "No `apikey` request header or url param was found.",
  },
};

/** Stable per JWT secret, so `npm start` keeps the same keys across restarts. */
const derivedKey = (prefix: string, secret: string): string =>
  `${prefix}${createHmac("sha256", secret).update(prefix).digest("base64url").slice(0, 32)}`;

const pgError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { code, message, details: null, hint: null },
});

class BodyTooLarge extends Error {}

const isSchemaList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === "string" && name !== "");

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > REQUEST_BODY_MAX_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function bearer(request: IncomingMessage): string | null {
  const header = request.headers.authorization ?? "";
  return header.startsWith("Bearer ") ? header.slice(7) : null;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const timing = (reply: Reply): Record<string, string> =>
  reply.dbMs === undefined ? {} : { "server-timing": `db;dur=${reply.dbMs.toFixed(2)}` };

function send(response: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    response.writeHead(reply.status, timing(reply)).end();
    return;
  }
  response.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...timing(reply) });
  response.end(JSON.stringify(reply.body));
}

export async function startStandIn(options: StandInOptions): Promise<StandIn> {
  const db: Database = options.databaseUrl
    ? await openPostgres(options.databaseUrl)
    : await openPglite(options.dataDir);
  await applyMigrations(db, options.migrationsDir ?? MIGRATIONS_DIR);
  const secret = options.jwtSecret;
  const tokenFor = (role: Role, claims: Record<string, unknown> = {}) =>
    signJwt(
      { iss: "payguard-standin", role, exp: Math.floor(Date.now() / 1000) + KEY_LIFETIME_S, ...claims },
      secret,
    );
  const anonKey = tokenFor("anon");
  const serviceRoleKey = tokenFor("service_role");
  const secretKey = derivedKey("sb_secret_", secret);
  const publishableKey = derivedKey("sb_publishable_", secret);
  const signingKeys = await createSigningKeys(secret);
  let issuer = "";
  let unavailable = false;
  let serviceKeysRevoked = false;
  const signatures = createSignatureCache();
  const stats = createRpcStats();
  /**
   * The database ends this session after the function ran, before the commit: on Postgres the backend is
   * really terminated (the client sees 57P01 FATAL or "Connection terminated"; the pool drops it), on
   * PGlite (one session for everything) the same error is raised so the transaction rolls back.
   */
  const loseConnection = async (tx: TxClient): Promise<void> => {
    if (!options.databaseUrl)
      throw Object.assign(new Error("terminating connection due to administrator command"), {
        code: "57P01",
        severity: "FATAL",
      });
    // Back to the session's own role: it may end its own backend, the request's role may not.
    await tx.query("set local role none");
    await tx.query("select pg_terminate_backend(pg_backend_pid())");
  };

  /** The role an `apikey` grants: the new keys by exact match, legacy keys by their signed `role`. */
  function keyRole(apikey: string): Role | null {
    if (sameSecret(apikey, secretKey)) return serviceKeysRevoked ? null : "service_role";
    if (sameSecret(apikey, publishableKey)) return "anon";
    const role = verifyJwt(apikey, secret, Date.now())?.role;
    if (role === "service_role") return serviceKeysRevoked ? null : role;
    return role === "anon" ? role : null;
  }

  async function authenticate(request: IncomingMessage): Promise<{ claims: JwtClaims } | Reply> {
    const apikey = request.headers.apikey;
    if (typeof apikey !== "string" || apikey === "") return NO_API_KEY;
    const role = keyRole(apikey);
    if (!role) return INVALID_API_KEY;
    const token = bearer(request);
    // The gateway turns an `sb_` key (alone, or repeated as the bearer) into the key's role.
    if (token === null || token === apikey) return { claims: { role } };
    const claims = await signingKeys.verify(token);
    if (!claims || !ROLES.includes(String(claims.role)))
      return pgError(401, "PGRST301", "JWT invalid or expired");
    return { claims };
  }

  let schemas = options.schemas ?? EXPOSED_SCHEMAS_DEFAULT;

  /** PostgREST picks the schema from Content-Profile (writes) or Accept-Profile (reads). */
  function pickSchema(request: IncomingMessage, readOnly: boolean): string | Reply {
    const header = request.headers[readOnly ? "accept-profile" : "content-profile"];
    const wanted = typeof header === "string" && header !== "" ? header : (schemas[0] ?? "public");
    if (schemas.includes(wanted)) return wanted;
    return {
      status: 406,
      body: {
        code: "PGRST106",
        message: `Invalid schema: ${wanted}`,
        details: null,
        hint: `Only the following schemas are exposed: ${schemas.join(", ")}`,
      },
    };
  }

  async function callFunction(
    schema: string,
    name: string,
    args: Record<string, unknown>,
    claims: JwtClaims,
    readOnly: boolean,
  ) {
    const role = String(claims.role);
    if (unavailable)
      return { status: 503, body: { ...CONNECT_FAILED, details: "connection refused", hint: null } };
    if (stats.injectFault(name))
      return {
        status: 503,
        body: { ...CONNECTION_LOST, details: "connection reset (injected)", hint: null },
      };
    const lose = stats.injectLostConnection(name);
    const startedMs = performance.now();
    let callMs = 0;
    try {
      const reply = await db.transaction(async (tx): Promise<Reply> => {
        if (readOnly) await tx.query("set transaction read only");
        await tx.query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)", [
          role,
          JSON.stringify(claims),
        ]);
        const sig = pickSignature(await signatures.get(tx, schema, name), Object.keys(args));
        if (!sig) {
          throw Object.assign(
            new Error(`Could not find the function ${schema}.${name} with those arguments`),
            {
              code: "PGRST202",
            },
          );
        }
        const { sql, params } = buildCall(schema, sig, args);
        const callStartedMs = performance.now();
        const { rows } = await tx.query<{ result: unknown }>(sql, params);
        callMs = performance.now() - callStartedMs;
        if (lose) await loseConnection(tx);
        return sig.returnsVoid ? { status: 204 } : { status: 200, body: rows[0]?.result ?? null };
      });
      return { ...reply, dbMs: stats.record(name, performance.now() - startedMs, callMs) };
    } catch (error) {
      const mapped: RpcError = toRpcError(error, role);
      return {
        status: mapped.status,
        body: mapped.body,
        dbMs: stats.record(name, performance.now() - startedMs, callMs),
      };
    }
  }

  async function handleRpc(request: IncomingMessage, url: URL): Promise<Reply> {
    const auth = await authenticate(request);
    if ("status" in auth) return auth;
    const name = decodeURIComponent(url.pathname.slice("/rest/v1/rpc/".length));
    const readOnly = request.method === "GET" || request.method === "HEAD";
    const schema = pickSchema(request, readOnly);
    if (typeof schema !== "string") return schema;
    let args: Record<string, unknown>;
    if (readOnly) {
      args = Object.fromEntries(url.searchParams);
    } else {
      const text = await readBody(request);
      try {
        args = text.trim() === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch {
        return pgError(400, "PGRST102", "Empty or invalid json");
      }
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        return pgError(400, "PGRST102", "Body must be a JSON object of named arguments");
      }
    }
    return callFunction(schema, name, args, auth.claims, readOnly);
  }

  async function handleControl(request: IncomingMessage, url: URL): Promise<Reply> {
    const token = bearer(request);
    const allowed = token !== null && (sameSecret(token, secretKey) || sameSecret(token, serviceRoleKey));
    if (!options.testControl || !allowed) return { status: 404, body: { message: "not found" } };
    const body = JSON.parse((await readBody(request)) || "{}") as {
      down?: boolean;
      sql?: string;
      params?: unknown[];
      userId?: string;
      rate?: number;
      seed?: number;
      lostRate?: number;
      reset?: boolean;
      schemas?: unknown;
      revoked?: boolean;
    } & UserTokenOptions;
    if (url.pathname === "/__standin/user-token" && typeof body.userId === "string") {
      const { alg, expiresInS, claims } = body;
      return {
        status: 200,
        body: { token: await signingKeys.userToken(issuer, body.userId, { alg, expiresInS, claims }) },
      };
    }
    if (url.pathname === "/__standin/rotate-signing-keys") {
      return { status: 200, body: await signingKeys.rotate() };
    }
    if (url.pathname === "/__standin/faults") {
      stats.setFaultRate(Number(body.rate ?? 0), Number(body.seed ?? 0), Number(body.lostRate ?? 0));
      return { status: 200, body: { rate: Number(body.rate ?? 0) } };
    }
    if (url.pathname === "/__standin/stats")
      return { status: 200, body: stats.snapshot(body.reset === true) };
    if (url.pathname === "/__standin/unavailable") {
      unavailable = body.down === true;
      return { status: 200, body: { unavailable } };
    }
    if (url.pathname === "/__standin/schemas" && isSchemaList(body.schemas)) {
      schemas = body.schemas;
      return { status: 200, body: { schemas } };
    }
    if (url.pathname === "/__standin/revoke-keys") {
      serviceKeysRevoked = body.revoked === true;
      return { status: 200, body: { revoked: serviceKeysRevoked } };
    }
    if (url.pathname === "/__standin/sql" && typeof body.sql === "string") {
      try {
        signatures.forgetIfDdl(body.sql);
        return { status: 200, body: (await db.query(body.sql, body.params ?? [])).rows };
      } catch (error) {
        return {
          status: 400,
          body: { message: (error as Error).message, code: (error as { code?: string }).code },
        };
      }
    }
    return { status: 404, body: { message: "not found" } };
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://standin.local");
    const route = url.pathname.startsWith("/rest/v1/rpc/")
      ? handleRpc(request, url)
      : url.pathname === JWKS_PATH && request.method === "GET"
        ? Promise.resolve({ status: 200, body: signingKeys.jwks() })
        : url.pathname.startsWith("/__standin/") && request.method === "POST"
          ? handleControl(request, url)
          : Promise.resolve(pgError(404, "PGRST125", "Invalid path specified in request URL"));
    route
      .catch(
        (error: unknown): Reply =>
          error instanceof BodyTooLarge
            ? pgError(413, "PGRST413", "Request body too large")
            : pgError(500, "PGRSTX00", (error as Error).message),
      )
      .then((reply) => send(response, reply));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  issuer = `${url}/auth/v1`;

  return {
    url,
    secretKey,
    publishableKey,
    anonKey,
    serviceRoleKey,
    tokenFor,
    userToken: (userId, userOptions) => signingKeys.userToken(issuer, userId, userOptions),
    rotateSigningKeys: () => signingKeys.rotate(),
    query: async (sql, params) => {
      signatures.forgetIfDdl(sql);
      return (await db.query(sql, params)).rows as never[];
    },
    setUnavailable: (down) => {
      unavailable = down;
    },
    setExposedSchemas: (exposed) => {
      schemas = [...exposed];
    },
    setServiceKeysRevoked: (revoked) => {
      serviceKeysRevoked = revoked;
    },
    setFaultRate: (rate, seed, lostRate) => stats.setFaultRate(rate, seed, lostRate),
    stats: (reset) => stats.snapshot(reset === true),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.close();
    },
  };
}
