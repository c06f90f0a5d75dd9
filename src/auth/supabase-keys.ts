/**
 * Supabase API keys as the gateway tells them apart: `sb_secret_…` / `sb_publishable_…` (the current
 * format) or a legacy JWT whose `role` claim is `service_role` / `anon` (retired by Supabase at the end
 * of 2026). Only the shape is read here; the key itself is checked by Supabase on every call.
 */
import { decodeJwt } from "jose";

export type SupabaseKeyKind = "secret" | "publishable" | "legacy_service_role" | "legacy_anon" | "unknown";

export const SECRET_KEY_PREFIX = "sb_secret_";
export const PUBLISHABLE_KEY_PREFIX = "sb_publishable_";

function legacyRole(key: string): unknown {
  try {
    return decodeJwt(key).role;
  } catch {
    return undefined;
  }
}

export function supabaseKeyKind(key: string): SupabaseKeyKind {
  if (key.startsWith(SECRET_KEY_PREFIX)) return "secret";
  if (key.startsWith(PUBLISHABLE_KEY_PREFIX)) return "publishable";
  const role = legacyRole(key);
  if (role === "service_role") return "legacy_service_role";
  if (role === "anon") return "legacy_anon";
  return "unknown";
}

/** Keys that let payguard call its functions: the secret key or the legacy service-role JWT. */
export const isServerKey = (key: string): boolean => {
  const kind = supabaseKeyKind(key);
  return kind === "secret" || kind === "legacy_service_role";
};
