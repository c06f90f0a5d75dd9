/**
 * The worker bindings that the reconcile code reaches, as the Node-side bench provides them (the worker
 * project types the full `Env` from wrangler.toml; this one only has to fit the in-memory stand-ins).
 */
interface Env {
  ORDER_GUARD: {
    idFromName(name: string): unknown;
    get(id: unknown): { settle: GuardCall; settleEvent: GuardCall };
  };
  RECONCILE_QUEUE: { sendBatch(messages: { body: unknown }[]): Promise<void> };
  PROVIDER_BUDGET: import("../src/budget/budget.ts").BudgetNamespace;
  ALERT_DESK: {
    idFromName(name: string): unknown;
    get(id: unknown): import("../src/ledger/ports.ts").AlertSink & {
      post(...args: unknown[]): Promise<unknown>;
    };
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the Durable Object's RPC result types live in the worker project
type GuardCall = (...args: unknown[]) => Promise<any>;
