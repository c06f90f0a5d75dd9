// Where simulators hand their signed notifications. Normally they go to the delivery queue; while a
// control call runs with `deliver: false` (or no URL is configured) they are collected instead and
// returned to the caller, because tests inside workerd cannot be reached over HTTP.
import type { DeliveryQueue } from "./delivery.ts";
import type { OutgoingDelivery, QueuedDelivery } from "./http.ts";

interface Capture {
  deliver: boolean;
  deliveries: OutgoingDelivery[];
}

const plain = ({ provider, eventId, url, headers, body }: QueuedDelivery): OutgoingDelivery => ({
  provider,
  eventId,
  url,
  headers,
  body,
});

export function createOutbox(queue: DeliveryQueue) {
  let capture: Capture | null = null;
  return {
    deliver(delivery: QueuedDelivery): void {
      if (capture && (!capture.deliver || delivery.url === "")) capture.deliveries.push(plain(delivery));
      else if (delivery.url !== "") queue.enqueue(delivery);
    },
    /** Runs one scenario step and returns the deliveries it produced that were not sent. */
    async capture<T>(
      deliver: boolean,
      run: () => T | Promise<T>,
    ): Promise<{ result: T; deliveries: OutgoingDelivery[] }> {
      const outer = capture;
      const current: Capture = { deliver, deliveries: [] };
      capture = current;
      try {
        const result = await run();
        return { result, deliveries: current.deliveries };
      } finally {
        capture = outer;
      }
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
