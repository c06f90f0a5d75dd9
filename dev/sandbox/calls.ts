// The record of every API call the sandbox answered (Stripe, WeChat Pay, alert receivers, hosted
// Checkout), so tests can assert what payguard asked for and how often: `GET /_control/calls`.

export const CALL_LOG_MAX = 10_000;

export interface ApiCall {
  method: string;
  path: string;
  query: string;
  /** 0 when a timeout fault hung the call and no answer was sent */
  status: number;
  atMs: number;
  fault: "5xx" | "429" | "timeout" | null;
}

/** A logged call, numbered from 1 since the last clear (a reader copying the log across its window keys on it). */
export type LoggedCall = ApiCall & { seq: number };

export function createCallLog() {
  const calls: LoggedCall[] = [];
  /** Calls and faults since the last clear, kept whole when the log drops its oldest entries. */
  let totals = { calls: 0, byFault: {} as Record<string, number> };
  return {
    add(call: ApiCall): void {
      totals.calls += 1;
      if (call.fault) totals.byFault[call.fault] = (totals.byFault[call.fault] ?? 0) + 1;
      calls.push({ ...call, seq: totals.calls });
      if (calls.length > CALL_LOG_MAX) calls.shift();
    },
    list: (): readonly LoggedCall[] => calls,
    totals: () => totals,
    /** Calls per `METHOD path` (query left out), for tests that count provider calls per endpoint. */
    counts(): Record<string, number> {
      const counts: Record<string, number> = {};
      for (const call of calls) {
        const key = `${call.method} ${call.path}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      return counts;
    },
    clear(): void {
      calls.length = 0;
      totals = { calls: 0, byFault: {} };
    },
  };
}

export type CallLog = ReturnType<typeof createCallLog>;
