/**
 * Three projects: `node` (pure logic, the dev tools, SQL against PGlite / real Postgres), `workers` (the
 * real worker in workerd via @cloudflare/vitest-plugin, talking over HTTP to the local Supabase stand-in
 * and the provider sandbox that test/support/node/global-setup.ts starts) and `workers-serial`, the same
 * for the suites that act on the whole deployment.
 *
 * Some suites cannot share a database or a sandbox with suites running beside them: a job works on every
 * row (a reconcile tick leases whatever is due, the audit reads the whole ledger, the bill compares every
 * order of a day), and some tests switch deployment-wide state (the database down, the sandbox's clock
 * or API faults, the stand-in's RPC counters). Those suites get a stand-in and a sandbox of their own
 * (global setup runs once per project) and run one file at a time; the other integration suites share
 * theirs and run in parallel, each asserting only on the orders, users and events it created.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The worker's structured JSON logs are checked by tests where they matter; keep the run output readable. */
const quietStructuredLogs = (log: string) => !log.startsWith('{"level"');

const SERIAL_SUITES = [
  // deployment-wide jobs
  "test/integration/alert-e2e.test.ts",
  "test/integration/doctor.test.ts",
  "test/integration/foundation.test.ts",
  "test/integration/health-audit.test.ts",
  "test/integration/incident-outbox.test.ts",
  "test/integration/order-checks.test.ts",
  "test/integration/provider-budget.test.ts",
  "test/integration/reconcile.test.ts",
  "test/integration/reconcile-backfill-share.test.ts",
  "test/integration/stripe-async-expiry.test.ts",
  "test/integration/subscription-reconcile.test.ts",
  "test/integration/thresholds.test.ts",
  "test/integration/wechatpay-bill.test.ts",
  "test/integration/weekly-report.test.ts",
  // the database down, sandbox API faults and clock, stand-in RPC counters, the Data API refusing payguard
  "test/integration/alert-desk.test.ts",
  "test/integration/alert-storm.test.ts",
  // reads whole shared pages (every open incident, the weekly report), so other suites' test data stays out
  "test/integration/console-i18n.test.ts",
  "test/integration/checkout.test.ts",
  "test/integration/data-api-faults.test.ts",
  "test/integration/order-guard.test.ts",
  // deployment-wide figures checked as changes, and an app hook refusing deliveries
  "test/integration/overview.test.ts",
  "test/integration/stripe-webhook.test.ts",
];

const TEST_TIMEOUT_MS = 30_000;
const HOOK_TIMEOUT_MS = 60_000;

const workerProject = (name: string, include: string[], exclude: string[], sequential: boolean) => ({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: inject("workerBindings") },
    })),
  ],
  test: {
    name,
    include,
    exclude,
    fileParallelism: !sequential,
    globalSetup: ["test/support/node/global-setup.ts"],
    testTimeout: TEST_TIMEOUT_MS,
    hookTimeout: HOOK_TIMEOUT_MS,
  },
});

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
          testTimeout: TEST_TIMEOUT_MS,
          hookTimeout: HOOK_TIMEOUT_MS,
        },
      },
      workerProject("workers", ["test/integration/**/*.test.ts"], SERIAL_SUITES, false),
      workerProject("workers-serial", SERIAL_SUITES, [], true),
    ],
  },
});
