/**
 * The provider events one OrderGuard object knows the database has durably finished, so a redelivery is
 * answered without a database call. One object holds the events of many orders, so the memory is bounded:
 * least recently seen first out. A forgotten event costs its next redelivery one database call, which the
 * inbox answers `duplicate`; forgetting never changes an answer.
 */
import type { Provider } from "../ledger/types.ts";

/**
 * Events one guard object remembers. Redeliveries cluster right after the original (concurrent copies,
 * retries within minutes); 64 objects × 4,096 keeps the last ~260,000 events of a deployment, under
 * 1 MB of keys per object.
 */
export const FINISHED_EVENTS_PER_GUARD_MAX = 4_096;

export interface FinishedEvents {
  has(provider: Provider, eventId: string): boolean;
  add(provider: Provider, eventId: string): void;
  readonly size: number;
}

export function createFinishedEvents(max: number = FINISHED_EVENTS_PER_GUARD_MAX): FinishedEvents {
  // A Map iterates in insertion order: re-inserting on every sighting makes its first key the least recent.
  const keys = new Map<string, true>();
  const keyOf = (provider: Provider, eventId: string) => `${provider}:${eventId}`;
  const touch = (key: string) => {
    keys.delete(key);
    keys.set(key, true);
  };
  return {
    has(provider, eventId) {
      const key = keyOf(provider, eventId);
      if (!keys.has(key)) return false;
      touch(key);
      return true;
    },
    add(provider, eventId) {
      touch(keyOf(provider, eventId));
      if (keys.size > max) keys.delete(keys.keys().next().value as string);
    },
    get size() {
      return keys.size;
    },
  };
}
