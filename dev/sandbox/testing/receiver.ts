// Test support: a local webhook receiver that records every request it gets and answers with a status
// the test chooses (per call), so delivery behaviour can be observed from outside the sandbox.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status for the n-th request (0-based); default 200. */
  respondWith(status: (index: number, request: Received) => number): void;
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let statusFor = (_index: number, _request: Received) => 200;
  let waiters: Array<() => void> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === "string") headers[name] = value;
      const entry = { path: request.url ?? "/", headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(entry);
      response.writeHead(statusFor(received.length - 1, entry)).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    respondWith(status) {
      statusFor = status;
    },
    waitFor(count) {
      return new Promise((resolve) => {
        const check = () => {
          if (received.length < count) return;
          waiters = waiters.filter((wake) => wake !== check);
          resolve(received.slice());
        };
        waiters.push(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
