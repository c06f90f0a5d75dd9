// node:http plumbing for the sandbox: reads a request into a SandboxRequest, writes a SandboxResponse
// back, and can hold a request open without answering (the "timeout" fault). Bound to 127.0.0.1 only:
// the control endpoints must never be reachable from another machine.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { SandboxRequest, SandboxResponse } from "./http.ts";

export const REQUEST_BODY_MAX_BYTES = 1024 * 1024;
const HOST = "127.0.0.1";

/** Answer, or keep the connection silent for `hangMs` and then drop it. */
export type SandboxReply = SandboxResponse | { hangMs: number };
export type SandboxHandler = (request: SandboxRequest) => Promise<SandboxReply>;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function readBody(message: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > REQUEST_BODY_MAX_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function toSandboxRequest(message: IncomingMessage, body: string): SandboxRequest {
  const url = new URL(message.url ?? "/", `http://${HOST}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return { method: message.method ?? "GET", path: url.pathname, query: url.searchParams, headers, body };
}

function write(response: ServerResponse, reply: SandboxResponse): void {
  response.writeHead(reply.status, reply.headers ?? {});
  response.end(reply.body ?? "");
}

export function listen(port: number, handler: SandboxHandler): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const hangs = new Set<NodeJS.Timeout>();
  const server = createServer(async (message, response) => {
    // A client that gave up mid-request (its own timeout) aborts the body: nobody is left to answer.
    const body = await readBody(message).catch(() => undefined);
    if (body === undefined) return void response.destroy();
    if (body === null) return write(response, { status: 413, body: "request body too large" });
    const reply = await handler(toSandboxRequest(message, body)).catch((error: unknown) => ({
      status: 500,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: `sandbox bug: ${(error as Error).message}` }),
    }));
    if ("hangMs" in reply) {
      const timer = setTimeout(() => {
        hangs.delete(timer);
        message.socket.destroy();
      }, reply.hangMs);
      hangs.add(timer);
      return;
    }
    write(response, reply);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      const address = server.address();
      const actualPort = typeof address === "object" && address ? address.port : port;
      resolve({
        url: `http://${HOST}:${actualPort}`,
        port: actualPort,
        close: () =>
          new Promise<void>((done) => {
            for (const timer of hangs) clearTimeout(timer);
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
