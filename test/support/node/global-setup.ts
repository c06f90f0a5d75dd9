/**
 * Starts what the worker under test talks to over real HTTP: the Supabase stand-in (PGlite, in memory)
 * and the provider sandbox. Their URLs and keys reach the worker as bindings through `provide`. Tests
 * get user access tokens from the stand-in's `/__standin/user-token` endpoint (test/support/worker/auth.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { workerVars } from "../../../dev/local-stack.ts";
import { startSandbox } from "../../../dev/sandbox/index.ts";
import { startStandIn } from "../../../dev/supabase/standin.ts";

export default async function setup(project: TestProject) {
  const jwtSecret = randomBytes(32).toString("hex");
  const standIn = await startStandIn({ jwtSecret, testControl: true });
  const sandbox = await startSandbox({ seed: 7 });
  project.provide("standIn", {
    url: standIn.url,
    secretKey: standIn.secretKey,
    publishableKey: standIn.publishableKey,
    serviceRoleKey: standIn.serviceRoleKey,
    anonKey: standIn.anonKey,
    jwtSecret,
  });
  project.provide("sandboxUrl", sandbox.url);
  project.provide("wechat", sandbox.wechat);
  project.provide("workerBindings", {
    ...workerVars("https://payguard.test", standIn, sandbox, "test-admin-token-0123456789abcdef"),
    STRIPE_WEBHOOK_SECRET_PREVIOUS: "whsec_previous_rotation_secret",
    APP_ORIGINS: "https://app.example.test",
    // A named admin token ("ci"), configured as its hash only; the admin API tests present the token.
    ADMIN_TOKENS: `ci:${createHash("sha256").update("test-ci-admin-token-0123456789").digest("hex")}`,
  });
  return async () => {
    await sandbox.close();
    await standIn.close();
  };
}
