/** Values the Node global setup hands to tests (vitest `provide` / `inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    standIn: { url: string; serviceRoleKey: string; anonKey: string };
    sandboxUrl: string;
    wechat: Record<string, string>;
    workerBindings: Record<string, string>;
  }
}

export {};
