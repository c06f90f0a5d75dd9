// API faults: make the sandbox's APIs (Stripe /v1, WeChat /v3, alert receivers) fail like the real
// services do under load or outage: 5xx, 429 with Retry-After, or a request that hangs. For the next N
// matching calls or at a seeded rate, optionally only under a path prefix.
import { json, type SandboxRequest, type SandboxResponse, text } from "./http.ts";
import type { Random } from "./rng.ts";

/** How long a "timeout" fault holds the request before dropping the connection without an answer. */
export const API_FAULT_HANG_MS = 15_000;
export const API_FAULT_RETRY_AFTER_S = 1;

export type ApiFaultKind = "5xx" | "429" | "timeout";

export interface ApiFaultRule {
  kind: ApiFaultKind;
  pathPrefix?: string;
  method?: string;
  /** Applies to the next N matching calls; absent = every matching call (or `rate` of them). */
  count?: number;
  /** Probability per matching call, drawn from the seeded stream. */
  rate?: number;
  /** 5xx: which status (default 500) */
  status?: number;
  retryAfterS?: number;
  hangMs?: number;
}

export type ApiFaultOutcome = { kind: "respond"; response: SandboxResponse } | { kind: "hang"; ms: number };

function matches(rule: ApiFaultRule, request: SandboxRequest): boolean {
  return (
    (rule.count === undefined || rule.count > 0) &&
    (rule.pathPrefix === undefined || request.path.startsWith(rule.pathPrefix)) &&
    (rule.method === undefined || rule.method.toUpperCase() === request.method)
  );
}

/** Each provider's own error shape, so clients take the same error path they would in production. */
function failure(path: string, status: number, retryAfterS?: number): SandboxResponse {
  const headers: Record<string, string> =
    retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) };
  const limited = status === 429;
  if (path.startsWith("/v1/")) {
    const error = limited
      ? {
          type: "invalid_request_error",
          code: "rate_limit",
          message: "Too many requests hit the API too quickly.",
        }
      : { type: "api_error", message: "Sorry, something went wrong. (sandbox fault)" };
    return json(status, { error }, headers);
  }
  if (path.startsWith("/v3/")) {
    const body = limited
      ? { code: "FREQUENCY_LIMITED", message: "Frequency limit exceeded (sandbox fault)" }
      : { code: "SYSTEM_ERROR", message: "System error (sandbox fault)" };
    return json(status, body, headers);
  }
  return text(status, limited ? "rate_limited" : "internal_error", headers);
}

export function createApiFaults(random: Random) {
  let rules: ApiFaultRule[] = [];
  return {
    set(next: ApiFaultRule[]): void {
      rules = structuredClone(next);
    },
    list: (): readonly ApiFaultRule[] => rules,
    /**
     * One draw per call, whatever the rules, so the stream stays aligned across scenarios. The matching
     * rules' rates are consecutive bands of that draw, so rules at 5 % and 2 % fire at 5 % and 2 % each
     * (not 5 % and none, as testing each rule against the same draw would).
     */
    check(request: SandboxRequest): ApiFaultOutcome | null {
      const draw = random();
      let bandStart = 0;
      const rule = rules.find((candidate) => {
        if (!matches(candidate, request)) return false;
        const bandEnd = bandStart + (candidate.rate ?? 1);
        const hit = draw >= bandStart && draw < bandEnd;
        bandStart = bandEnd;
        return hit;
      });
      if (!rule) return null;
      if (rule.count !== undefined) rule.count -= 1;
      if (rule.kind === "timeout") return { kind: "hang", ms: rule.hangMs ?? API_FAULT_HANG_MS };
      const status = rule.kind === "429" ? 429 : (rule.status ?? 500);
      const retryAfterS =
        rule.kind === "429" ? (rule.retryAfterS ?? API_FAULT_RETRY_AFTER_S) : rule.retryAfterS;
      return { kind: "respond", response: failure(request.path, status, retryAfterS) };
    },
  };
}

export type ApiFaults = ReturnType<typeof createApiFaults>;

const KINDS: readonly ApiFaultKind[] = ["5xx", "429", "timeout"];

export function parseApiFaults(
  input: unknown,
): { ok: true; rules: ApiFaultRule[] } | { ok: false; error: string } {
  if (!Array.isArray(input)) return { ok: false, error: "api must be an array of rules" };
  for (const [index, rule] of input.entries()) {
    if (typeof rule !== "object" || rule === null || !KINDS.includes((rule as ApiFaultRule).kind))
      return { ok: false, error: `api[${index}].kind must be one of ${KINDS.join(", ")}` };
    const { status } = rule as ApiFaultRule;
    if (status !== undefined && (!Number.isInteger(status) || status < 500 || status > 599))
      return { ok: false, error: `api[${index}].status must be a 5xx status` };
  }
  return { ok: true, rules: input as ApiFaultRule[] };
}
