// The sandbox's notion of "now". By default wall time plus an offset that tests can move (advance past
// an expiry, set a date) through `/_control/clock`; a clock passed in by the caller is used as is and
// cannot be moved from outside.
import type { Clock } from "./http.ts";

export interface ClockControl {
  advance(ms: number): void;
  set(epochMs: number): void;
  /** back to wall time */
  reset(): void;
}

export interface SandboxClock {
  now: Clock;
  /** null when the caller passed its own clock */
  control: ClockControl | null;
}

export function createSandboxClock(external?: Clock): SandboxClock {
  if (external) return { now: external, control: null };
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    control: {
      advance(ms) {
        offsetMs += ms;
      },
      set(epochMs) {
        offsetMs = epochMs - Date.now();
      },
      reset() {
        offsetMs = 0;
      },
    },
  };
}
