// Scenario control over HTTP (`/_control/...`, bound to 127.0.0.1 with the rest of the sandbox): make a
// customer pay, abandon, refund; set faults; read what the sandbox saw; move its clock. Calls that emit
// provider events answer `{eventIds, deliveries}`; deliveries holds the signed notifications that were
// not sent (`deliver: false`, or no URL configured) so a test can forward them itself. A step that also
// names `paymentEventIds` (the PaymentIntent and Charge under a Stripe payment) gets their notifications
// apart, as `paymentDeliveries`.
import type { AlertReceivers } from "./alerts/index.ts";
import { type ApiFaults, parseApiFaults } from "./api-faults.ts";
import type { CallLog } from "./calls.ts";
import type { SandboxClock } from "./clock.ts";
import { stripeControlRoutes } from "./control-stripe.ts";
import { wechatControlRoutes } from "./control-wechat.ts";
import type { DeliveryQueue } from "./delivery.ts";
import { noDeliveryFaults, parseDeliveryFaults } from "./delivery-faults.ts";
import { json, type SandboxRequest, type SandboxResponse } from "./http.ts";
import type { Outbox } from "./outbox.ts";
import type { Streams } from "./streams.ts";
import type { StripeSandbox } from "./stripe/index.ts";
import type { WechatSandbox } from "./wechat/index.ts";

/** `GET /_control/deliveries?wait=1` waits for in-flight deliveries at most this long. */
export const CONTROL_IDLE_WAIT_MS = 10_000;

export interface ControlDeps {
  clock: SandboxClock;
  stripe: StripeSandbox;
  wechat: WechatSandbox;
  queue: DeliveryQueue;
  outbox: Outbox;
  apiFaults: ApiFaults;
  alerts: AlertReceivers;
  calls: CallLog;
  streams: Streams;
  /** Runs time-driven transitions (session expiry, held deliveries) now. */
  tick(): void;
}

export type ControlBody = Record<string, unknown>;
export type ControlRoute = {
  method: "GET" | "POST";
  path: string;
  run(body: ControlBody, request: SandboxRequest): Promise<SandboxResponse> | SandboxResponse;
};

export const badRequest = (error: string): SandboxResponse => json(400, { error });

type StepAnswer = { ok?: true; eventIds: string[]; paymentEventIds?: string[] } & Record<string, unknown>;
type StepRefusal = { ok: false; status: number; error: string };

/** Runs a step that emits events and answers with what it emitted. */
export async function emitting(
  deps: ControlDeps,
  body: ControlBody,
  run: () => StepAnswer | StepRefusal,
): Promise<SandboxResponse> {
  const { result, deliveries } = await deps.outbox.capture(body.deliver !== false, run);
  if (result.ok === false)
    return json((result as StepRefusal).status, { error: (result as StepRefusal).error });
  const { ok: _ok, ...answer } = result as StepAnswer;
  if (!answer.paymentEventIds) return json(200, { ...answer, deliveries });
  const ofPayment = new Set(answer.paymentEventIds);
  return json(200, {
    ...answer,
    deliveries: deliveries.filter((delivery) => !ofPayment.has(delivery.eventId)),
    paymentDeliveries: deliveries.filter((delivery) => ofPayment.has(delivery.eventId)),
  });
}

function setFaults(deps: ControlDeps, body: ControlBody): SandboxResponse {
  if (body.clear === true) {
    deps.queue.setFaults(noDeliveryFaults());
    deps.apiFaults.set([]);
  }
  if (body.delivery !== undefined) {
    const parsed = parseDeliveryFaults(body.delivery);
    if (!parsed.ok) return badRequest(parsed.error);
    deps.queue.setFaults(parsed.faults);
  }
  if (body.api !== undefined) {
    const parsed = parseApiFaults(body.api);
    if (!parsed.ok) return badRequest(parsed.error);
    deps.apiFaults.set(parsed.rules);
  }
  return json(200, { delivery: deps.queue.faults(), api: deps.apiFaults.list() });
}

function moveClock(deps: ControlDeps, body: ControlBody): Promise<SandboxResponse> | SandboxResponse {
  const control = deps.clock.control;
  if (!control) return json(409, { error: "this sandbox runs on a clock passed in by its owner" });
  const { advanceMs, setMs } = body;
  if (typeof advanceMs === "number") control.advance(advanceMs);
  else if (typeof setMs === "number") control.set(setMs);
  else return badRequest("pass advanceMs or setMs (epoch ms)");
  return emitting(deps, body, () => {
    deps.tick();
    return { nowMs: deps.clock.now(), eventIds: [] as string[] };
  });
}

async function deliveries(deps: ControlDeps, request: SandboxRequest): Promise<SandboxResponse> {
  if (request.query.get("wait") === "1") {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, CONTROL_IDLE_WAIT_MS);
    });
    await Promise.race([deps.queue.idle(), timeout]);
    clearTimeout(timer);
  }
  return json(200, { deliveries: deps.queue.log(), pending: deps.queue.pending() });
}

function reset(deps: ControlDeps, body: ControlBody): SandboxResponse {
  if (typeof body.seed === "number") deps.streams.reseed(body.seed);
  deps.stripe.reset();
  deps.queue.reset();
  deps.apiFaults.set([]);
  deps.alerts.reset();
  deps.calls.clear();
  deps.clock.control?.reset();
  return json(200, { ok: true });
}

function coreRoutes(deps: ControlDeps): ControlRoute[] {
  return [
    { method: "POST", path: "/_control/faults", run: (body) => setFaults(deps, body) },
    { method: "GET", path: "/_control/faults", run: () => setFaults(deps, {}) },
    { method: "GET", path: "/_control/calls", run: () => json(200, { calls: deps.calls.list() }) },
    { method: "GET", path: "/_control/calls/counts", run: () => json(200, { counts: deps.calls.counts() }) },
    {
      method: "GET",
      path: "/_control/totals",
      run: () => json(200, { deliveries: deps.queue.totals(), calls: deps.calls.totals() }),
    },
    { method: "GET", path: "/_control/deliveries", run: (_body, request) => deliveries(deps, request) },
    // The queue's backlog alone, cheap to poll (a load generator backing off a slow receiver).
    {
      method: "GET",
      path: "/_control/deliveries/pending",
      run: () => json(200, { pending: deps.queue.pending() }),
    },
    {
      method: "POST",
      path: "/_control/deliveries/release",
      run: (body) => json(200, { released: deps.queue.release(body.all === true) }),
    },
    { method: "POST", path: "/_control/reset", run: (body) => reset(deps, body) },
    { method: "POST", path: "/_control/clock", run: (body) => moveClock(deps, body) },
    {
      method: "GET",
      path: "/_control/clock",
      run: () => json(200, { nowMs: deps.clock.now(), controllable: deps.clock.control !== null }),
    },
  ];
}

function parseBody(request: SandboxRequest): ControlBody | null {
  if (request.body.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(request.body);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as ControlBody)
      : null;
  } catch {
    return null;
  }
}

export function createControl(deps: ControlDeps) {
  const routes = [
    ...coreRoutes(deps),
    ...stripeControlRoutes(deps),
    ...wechatControlRoutes(deps),
    ...deps.alerts.controlRoutes(),
  ];
  return async (request: SandboxRequest): Promise<SandboxResponse | null> => {
    if (!request.path.startsWith("/_control/")) return null;
    const route = routes.find(
      (candidate) => candidate.path === request.path && candidate.method === request.method,
    );
    if (!route) return json(404, { error: `no control route ${request.method} ${request.path}` });
    const body = parseBody(request);
    if (!body) return badRequest("body must be a JSON object");
    return route.run(body, request);
  };
}
