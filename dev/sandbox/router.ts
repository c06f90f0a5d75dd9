// The sandbox's front door: control calls first (never faulted, never logged as API calls), then the
// API faults, then whichever simulator owns the path. Every non-control call lands in the call log.
import type { ApiFaults } from "./api-faults.ts";
import type { CallLog } from "./calls.ts";
import type { Clock, SandboxRequest, SandboxResponse } from "./http.ts";
import { json } from "./http.ts";
import type { SandboxHandler, SandboxReply } from "./server.ts";

export type Mount = (request: SandboxRequest) => Promise<SandboxResponse | null> | SandboxResponse | null;

export interface RouterOptions {
  control: (request: SandboxRequest) => Promise<SandboxResponse | null>;
  apiFaults: ApiFaults;
  calls: CallLog;
  clock: Clock;
  mounts: Mount[];
}

/** Alert-channel tokens travel in the URL; the call log must not keep them. */
const SECRET_QUERY_PARAMS = ["access_token", "key", "sign"];

function redacted(request: SandboxRequest): { path: string; query: string } {
  const query = new URLSearchParams(request.query);
  for (const name of SECRET_QUERY_PARAMS) if (query.has(name)) query.set(name, "***");
  const path = request.path.startsWith("/alerts/slack/") ? "/alerts/slack/***" : request.path;
  return { path, query: query.toString() };
}

async function dispatch(mounts: Mount[], request: SandboxRequest): Promise<SandboxResponse> {
  for (const mount of mounts) {
    const response = await mount(request);
    if (response) return response;
  }
  return json(404, { error: `nothing in the sandbox answers ${request.method} ${request.path}` });
}

export function createRouter(options: RouterOptions): SandboxHandler {
  return async (request: SandboxRequest): Promise<SandboxReply> => {
    const control = await options.control(request);
    if (control) return control;
    const atMs = options.clock();
    const call = { method: request.method, ...redacted(request), atMs };
    const fault = options.apiFaults.check(request);
    if (fault?.kind === "hang") {
      options.calls.add({ ...call, status: 0, fault: "timeout" });
      return { hangMs: fault.ms };
    }
    if (fault) {
      options.calls.add({
        ...call,
        status: fault.response.status,
        fault: fault.response.status === 429 ? "429" : "5xx",
      });
      return fault.response;
    }
    const response = await dispatch(options.mounts, request);
    options.calls.add({ ...call, status: response.status, fault: null });
    return response;
  };
}
