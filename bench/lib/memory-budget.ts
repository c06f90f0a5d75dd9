/**
 * The provider budget's Durable Object (src/budget/provider-budget.ts) as plain memory over a given clock:
 * the same pure bucket (src/budget/bucket.ts), one state per bucket name, so a benchmark or a test can run
 * many invocations against one deployment-wide budget on a virtual clock.
 */
import { type BucketState, fullBucket, leaseTokens, pauseBucket } from "../../src/budget/bucket.ts";
import type { BudgetNamespace } from "../../src/budget/budget.ts";
import type { BucketLimit } from "../../src/budget/limits.ts";

export function memoryBuckets(clock: { now(): number }, options: { down?: boolean } = {}): BudgetNamespace {
  const states = new Map<string, BucketState>();
  return {
    idFromName: (name) => name,
    get: (id) => ({
      async lease(limit: BucketLimit, want: number) {
        if (options.down) throw new Error("Durable Object is overloaded");
        const state = states.get(id as string) ?? fullBucket(limit, clock.now());
        const leased = leaseTokens(state, limit, want, clock.now());
        states.set(id as string, leased.state);
        return leased.grant;
      },
      async pause(limit: BucketLimit, retryAfterMs: number) {
        const state = states.get(id as string) ?? fullBucket(limit, clock.now());
        states.set(id as string, pauseBucket(state, limit, clock.now(), clock.now() + retryAfterMs));
      },
    }),
  };
}
