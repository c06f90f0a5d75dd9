/** Expected failures are values; bugs throw. A failure says whether retrying later can help. */

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/**
 * What a failure asks of the caller. `transient` (network, 5xx, 429, a timeout): retry, it passes on its
 * own. `misconfigured`: retry, but it lasts until someone fixes the installation (the Data API does not
 * expose the schema, a function is missing, a grant was revoked, the key is refused); a provider must keep
 * redelivering meanwhile. `permanent`: the request can never succeed (a function's own refusal).
 */
export type InfraErrorKind = "transient" | "misconfigured" | "permanent";

/**
 * What a Data API failure says about the installation or its database: one incident per class names the
 * fix (src/ops/data-api.ts). `unavailable` (the database cannot be reached) is transient, the others are
 * `misconfigured`.
 */
export type DataApiFault =
  | "schema_not_exposed"
  | "function_missing"
  | "permission_denied"
  | "key_rejected"
  | "unavailable";

/** A store or provider failure. */
export interface InfraError {
  kind: InfraErrorKind;
  code: string;
  message: string;
  /** Set on Data API failures that name a fault of the installation or of its database. */
  fault?: DataApiFault;
}

/** Whether trying again later can help: everything but a permanent refusal. */
export const retryable = (error: InfraError): boolean => error.kind !== "permanent";

/**
 * The same failure, but one the provider must be asked to retry: a permanent one becomes transient (a
 * step after the fact failed, so the fact must come again); a misconfiguration stays what it is.
 */
export const retryLater = (error: InfraError): InfraError =>
  error.kind === "permanent" ? { ...error, kind: "transient" } : error;

/** The value of a success, mapped; a failure as it is. */
export function mapValue<A, B, E>(result: Result<A, E>, map: (value: A) => B): Result<B, E> {
  return result.ok ? ok(map(result.value)) : result;
}
