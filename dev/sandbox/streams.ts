// The seeded random streams of one sandbox: one per concern, so extra fault draws never shift object
// ids, and reseedable on `/_control/reset` so a test can replay a scenario inside one sandbox.
import { deriveSeed, mulberry32, type Random } from "./rng.ts";

export const STREAM_NAMES = ["ids", "deliveryFaults", "apiFaults", "wechat"] as const;
export type StreamName = (typeof STREAM_NAMES)[number];

export function createStreams(seed: number) {
  const generators = new Map<StreamName, Random>();
  const reseed = (next: number) => {
    for (const name of STREAM_NAMES) generators.set(name, mulberry32(deriveSeed(next, name)));
  };
  reseed(seed);
  const stream =
    (name: StreamName): Random =>
    () =>
      (generators.get(name) as Random)();
  return { stream, reseed };
}

export type Streams = ReturnType<typeof createStreams>;
