/** Values the Node global setup hands to tests (vitest `provide` / `inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** The stand-in's URL, API keys (`sb_secret_…`, `sb_publishable_…`, legacy JWTs) and legacy JWT secret. */
    standIn: {
      url: string;
      secretKey: string;
      publishableKey: string;
      serviceRoleKey: string;
      anonKey: string;
      jwtSecret: string;
    };
    sandboxUrl: string;
    wechat: Record<string, string>;
    workerBindings: Record<string, string>;
  }
}

export {};
