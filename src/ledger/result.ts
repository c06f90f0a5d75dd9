/** Expected failures are values; bugs throw. A failure says whether retrying later can help. */

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** A store or provider failure: `transient` ones (network, 5xx, 429) are retried, the rest are not. */
export interface InfraError {
  kind: "transient" | "permanent";
  code: string;
  message: string;
}
