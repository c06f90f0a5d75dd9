/**
 * The token bucket, pure: state in, state and answer out, `nowMs` passed in. The state is the level at a
 * time; a level below zero is tokens already promised to callers that wait for their turn, so a grant is
 * never refused just because the bucket is empty right now: it is dated when the bucket would hold it
 * (first come, first served), at most LEASE_AHEAD_MS_MAX ahead. A pause (a 429's Retry-After) moves the
 * time the bucket refills from to the pause's end, so every grant made during it comes after it.
 */
import { type BucketLimit, LEASE_AHEAD_MS_MAX } from "./limits.ts";

export interface BucketState {
  /** Tokens at `atMs`; negative while tokens are promised ahead. */
  level: number;
  /** Time of `level`; after a pause, the pause's end (the bucket does not refill before it). */
  atMs: number;
}

/** `granted` tokens usable in `waitMs`; none granted: ask again in `waitMs`. */
export interface Grant {
  granted: number;
  waitMs: number;
}

/** Tiny slack so that a level computed as 2.9999999 tokens still counts as 3. */
const EPSILON = 1e-9;

export const fullBucket = (limit: BucketLimit, nowMs: number): BucketState => ({
  level: limit.burst,
  atMs: nowMs,
});

function levelAt(state: BucketState, limit: BucketLimit, atMs: number): number {
  return Math.min(limit.burst, state.level + (limit.perSecond * (atMs - state.atMs)) / 1000);
}

/** Up to `want` tokens (never more than the burst), dated at their turn; fewer when the turn is too far. */
export function leaseTokens(
  state: BucketState,
  limit: BucketLimit,
  want: number,
  nowMs: number,
  aheadMsMax = LEASE_AHEAD_MS_MAX,
): { state: BucketState; grant: Grant } {
  const fromMs = Math.max(nowMs, state.atMs);
  const level = levelAt(state, limit, fromMs);
  const msPerToken = 1000 / limit.perSecond;
  const withinHorizon = Math.floor(level + (nowMs + aheadMsMax - fromMs) / msPerToken + EPSILON);
  const granted = Math.max(0, Math.min(want, Math.floor(limit.burst), withinHorizon));
  if (granted === 0) {
    const firstTurnMs = fromMs + (1 - level) * msPerToken;
    const waitMs = Math.max(1, Math.ceil(firstTurnMs - aheadMsMax - nowMs));
    return { state: { level, atMs: fromMs }, grant: { granted: 0, waitMs } };
  }
  const turnMs = fromMs + Math.max(0, granted - level) * msPerToken;
  return {
    state: { level: level - granted, atMs: fromMs },
    grant: { granted, waitMs: Math.max(0, Math.ceil(turnMs - nowMs)) },
  };
}

/**
 * No tokens before `untilMs`. What is already promised stays promised (and is counted as spent after the
 * pause, which only delays later grants further).
 */
export function pauseBucket(
  state: BucketState,
  limit: BucketLimit,
  nowMs: number,
  untilMs: number,
): BucketState {
  const level = levelAt(state, limit, Math.max(nowMs, state.atMs));
  return { level: Math.min(level, 0), atMs: Math.max(untilMs, state.atMs, nowMs) };
}
