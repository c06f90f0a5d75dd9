/**
 * One value reused for a fixed time: what `/health` answers anyone who asks, so a flood of requests costs
 * the database one call per isolate per TTL. Concurrent callers of an expired entry share one load; a
 * load that fails is forgotten at once, so the next caller loads again. The clock is passed in.
 */
export interface TtlCache<T> {
  /** The cached value and when it was loaded, loading it first when there is none younger than the TTL. */
  get(nowMs: number, load: () => Promise<T>): Promise<{ value: T; loadedAtMs: number }>;
}

export function createTtlCache<T>(ttlMs: number): TtlCache<T> {
  let entry: { loadedAtMs: number; value: Promise<T> } | null = null;
  return {
    async get(nowMs, load) {
      if (!entry || nowMs - entry.loadedAtMs >= ttlMs || nowMs < entry.loadedAtMs) {
        const loading = { loadedAtMs: nowMs, value: load() };
        entry = loading;
        loading.value.catch(() => {
          if (entry === loading) entry = null;
        });
      }
      const { loadedAtMs, value } = entry;
      return { value: await value, loadedAtMs };
    },
  };
}
