// Shared request/response shapes of the provider sandbox: the core server parses raw HTTP into these and
// each provider simulator (Stripe, WeChat Pay, alert receivers) answers with them, so simulators never touch sockets.

export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** lower-case header names */
  headers: Record<string, string>;
  body: string;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** A signed notification ready to POST; the core's delivery queue sends it, with faults, to `url`. */
export interface OutgoingDelivery {
  provider: "stripe" | "wechatpay";
  eventId: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** epoch ms; tests pass a fixed/advancing clock */
export type Clock = () => number;

export function json(status: number, value: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(value),
  };
}

export function text(status: number, value: string, headers: Record<string, string> = {}): SandboxResponse {
  return { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers }, body: value };
}

/**
 * What the delivery queue holds: a delivery plus, for providers that sign each attempt afresh (Stripe),
 * a way to sign it again at send time so a retried or held delivery carries a current timestamp.
 */
export interface QueuedDelivery extends OutgoingDelivery {
  resign?: (nowMs: number) => Record<string, string>;
}
