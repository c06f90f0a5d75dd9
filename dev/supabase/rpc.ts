/**
 * PostgREST's RPC semantics over a plain database session: resolve `<schema>.<fn>` by argument names, call
 * it with named, typed, bound parameters, shape the result the way PostgREST does (scalar, object, array,
 * 204 for void) and map SQLSTATEs to PostgREST's HTTP statuses, a lost database connection included
 * (503 PGRST000 when none could be opened, PGRST001 when it broke mid-request). A statement timeout
 * (57014) is 500 as in PostgREST's `mapSQLtoHTTP`, where class 57 is 500 but 57P01 (admin shutdown) 503;
 * 504 is only PGRST003, a pool that hands out no connection in time.
 */
import type { TxClient } from "./database.ts";

export interface FunctionSignature {
  name: string;
  argNames: string[];
  argTypes: string[];
  requiredCount: number;
  returnsSet: boolean;
  returnsVoid: boolean;
}

export interface RpcError {
  status: number;
  body: { code: string; message: string; details: string | null; hint: string | null };
}

const SIGNATURES_SQL = `
  select p.proname as name,
         coalesce(p.proargnames[1:p.pronargs], '{}') as arg_names,
         array(select format_type(t, null) from unnest(p.proargtypes) as t) as arg_types,
         p.pronargs - p.pronargdefaults as required_count,
         p.proretset as returns_set,
         p.prorettype = 'void'::regtype as returns_void
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = $1 and p.proname = $2`;

interface SignatureRow {
  name: string;
  arg_names: string[];
  arg_types: string[];
  required_count: number;
  returns_set: boolean;
  returns_void: boolean;
}

export async function loadSignatures(
  tx: TxClient,
  schema: string,
  name: string,
): Promise<FunctionSignature[]> {
  const { rows } = await tx.query<SignatureRow>(SIGNATURES_SQL, [schema, name]);
  return rows.map((row) => ({
    name: row.name,
    argNames: row.arg_names,
    argTypes: row.arg_types,
    requiredCount: Number(row.required_count),
    returnsSet: row.returns_set,
    returnsVoid: row.returns_void,
  }));
}

/** The overload whose arguments cover exactly the given names (defaults may be left out). */
export function pickSignature(signatures: FunctionSignature[], given: string[]): FunctionSignature | null {
  return (
    signatures.find(
      (sig) =>
        given.every((name) => sig.argNames.includes(name)) &&
        sig.argNames.slice(0, sig.requiredCount).every((name) => given.includes(name)),
    ) ?? null
  );
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function toParam(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === "json" || type === "jsonb") return JSON.stringify(value);
  if (typeof value === "object" && !Array.isArray(value)) return JSON.stringify(value);
  return value;
}

export function buildCall(
  schema: string,
  sig: FunctionSignature,
  args: Record<string, unknown>,
): { sql: string; params: unknown[] } {
  const names = Object.keys(args);
  const params: unknown[] = [];
  const named = names.map((name, index) => {
    const type = sig.argTypes[sig.argNames.indexOf(name)] ?? "text";
    params.push(toParam(args[name], type));
    return `${quoteIdent(name)} => $${index + 1}::${type}`;
  });
  const call = `${quoteIdent(schema)}.${quoteIdent(sig.name)}(${named.join(", ")})`;
  if (sig.returnsVoid) return { sql: `select ${call}`, params };
  if (sig.returnsSet) {
    return {
      sql: `select coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb) as result from ${call} as r`,
      params,
    };
  }
  return { sql: `select to_jsonb(${call}) as result`, params };
}

/** SQLSTATE classes PostgREST answers with one status (src/PostgREST/Error.hs, `mapSQLtoHTTP`). */
const CLASS_STATUS: Record<string, number> = {
  "08": 503, // connection exception
  "09": 500, // triggered action exception
  "0L": 403, // invalid grantor
  "0P": 403, // invalid role specification
  "25": 500, // invalid transaction state
  "28": 403, // invalid authorization specification
  "2D": 500, // invalid transaction termination
  "38": 500, // external routine exception
  "39": 500, // external routine invocation
  "3B": 500, // savepoint exception
  "40": 500, // transaction rollback
  "53": 503, // insufficient resources
  "54": 500, // program limit exceeded
  "55": 500, // object not in prerequisite state
  "57": 500, // operator intervention (statement timeout 57014 included)
  "58": 500, // system error
  F0: 500,
  HV: 500,
  P0: 500, // PL/pgSQL error other than a plain `raise` (P0001)
  XX: 500, // internal error
};

/** Codes PostgREST answers differently from their class. */
const CODE_STATUS: Record<string, number> = {
  "23503": 409, // foreign key violation
  "23505": 409, // unique violation
  "25006": 405, // a write attempted in a GET (read-only) call
  "53400": 500, // configuration limit exceeded
  "57P01": 503, // terminating connection due to administrator command
  P0001: 400, // a function's own `raise`
  "42883": 404, // undefined function
  "42P01": 404, // undefined table
  "42P17": 500, // infinite recursion
  PGRST202: 404, // the stand-in's own "no such function"
};

function statusFor(code: string, role: string): number {
  const exact = CODE_STATUS[code];
  if (exact !== undefined) return exact;
  if (code === "42501") return role === "anon" ? 401 : 403;
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  return CLASS_STATUS[code.slice(0, 2)] ?? 400;
}

/** PostgREST's answers when the database connection itself fails (hasql's connection and client errors). */
export const CONNECT_FAILED = {
  code: "PGRST000",
  message: "Database connection error. Retrying the connection.",
};
export const CONNECTION_LOST = {
  code: "PGRST001",
  message: "Database client error. Retrying the connection.",
};

/**
 * The pool could not open a connection (refused, unknown host, the server starting up or shutting down,
 * authentication, the database gone): thrown by src/database.ts, answered 503 PGRST000 like PostgREST.
 */
export class ConnectFailed extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A server error carries a SQLSTATE; anything else from the driver mid-request means the connection broke. */
function isDriverFailure(error: { code?: string; message?: string }): boolean {
  if (error.code !== undefined) return /^E[A-Z]+$/.test(error.code); // ECONNRESET, EPIPE, ETIMEDOUT, ...
  return /^connection terminated|connection error|is not queryable|pglite is closed/i.test(
    error.message ?? "",
  );
}

export function toRpcError(error: unknown, role: string): RpcError {
  const e = error as { code?: string; message?: string; detail?: string; hint?: string };
  if (error instanceof ConnectFailed)
    return { status: 503, body: { ...CONNECT_FAILED, details: error.message, hint: null } };
  if (isDriverFailure(e))
    return { status: 503, body: { ...CONNECTION_LOST, details: e.message ?? null, hint: null } };
  const code = e.code && (SQLSTATE.test(e.code) || e.code.startsWith("PGRST")) ? e.code : "XX000";
  return {
    status: statusFor(code, role),
    body: { code, message: e.message ?? String(error), details: e.detail ?? null, hint: e.hint ?? null },
  };
}
