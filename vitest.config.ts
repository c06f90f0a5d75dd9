/**
 * Two projects: `node` (pure logic, the dev tools, SQL against PGlite / real Postgres) and `workers`
 * (the real worker in workerd via @cloudflare/vitest-plugin, talking over HTTP to the local Supabase
 * stand-in and the provider sandbox that test/support/node/global-setup.ts starts).
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The worker's structured JSON logs are checked by tests where they matter; keep the run output readable. */
const quietStructuredLogs = (log: string) => !log.startsWith('{"level"');

export default defineConfig({
  test: {
    onConsoleLog: quietStructuredLogs,
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: [
            "test/unit/**/*.test.ts",
            "test/sql/**/*.test.ts",
            "dev/**/*.test.ts",
            "test/browser/**/*.test.ts",
            "bench/**/*.test.ts",
            "test/stack/**/*.test.ts",
          ],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: inject("workerBindings") },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/node/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
