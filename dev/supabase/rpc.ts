/**
 * PostgREST's RPC semantics over a plain database session: resolve `<schema>.<fn>` by argument names, call
 * it with named, typed, bound parameters, shape the result the way PostgREST does (scalar, object, array,
 * 204 for void) and map SQLSTATEs to PostgREST's HTTP statuses.
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

function statusFor(code: string, role: string): number {
  if (code === "P0001") return 400;
  if (code.startsWith("P0")) return 500;
  if (code === "23505" || code === "23503") return 409;
  if (code === "42883" || code === "PGRST202") return 404;
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code.startsWith("08") || code.startsWith("53")) return 503;
  if (code.startsWith("40")) return 500;
  if (code === "25006") return 405; // a write attempted in a GET (read-only) call
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  return 400;
}

export function toRpcError(error: unknown, role: string): RpcError {
  const e = error as { code?: string; message?: string; detail?: string; hint?: string };
  const code = e.code ?? "XX000";
  return {
    status: statusFor(code, role),
    body: { code, message: e.message ?? String(error), details: e.detail ?? null, hint: e.hint ?? null },
  };
}
