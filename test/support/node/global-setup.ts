/**
 * Starts what the worker under test talks to over real HTTP: the Supabase stand-in (PGlite, in memory)
 * and the provider sandbox. Their URLs and keys reach the worker as bindings through `provide`.
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startSandbox } from "../../../dev/sandbox/index.ts";
import { startStandIn } from "../../../dev/supabase/standin.ts";

export default async function setup(project: TestProject) {
  const standIn = await startStandIn({ jwtSecret: randomBytes(32).toString("hex"), testControl: true });
  const sandbox = await startSandbox({ seed: 7 });
  project.provide("standIn", {
    url: standIn.url,
    serviceRoleKey: standIn.serviceRoleKey,
    anonKey: standIn.anonKey,
  });
  project.provide("sandboxUrl", sandbox.url);
  project.provide("wechat", sandbox.wechat);
  project.provide("workerBindings", {
    PUBLIC_BASE_URL: "https://payguard.test",
    SUPABASE_URL: standIn.url,
    SUPABASE_SERVICE_ROLE_KEY: standIn.serviceRoleKey,
    ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
    PROVIDERS: "stripe,wechatpay",
    STRIPE_API_BASE: sandbox.url,
    STRIPE_SECRET_KEY: sandbox.stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: sandbox.stripe.webhookSecret,
    STRIPE_WEBHOOK_SECRET_PREVIOUS: "whsec_previous_rotation_secret",
    WECHATPAY_API_BASE: sandbox.url,
    WECHATPAY_MCHID: sandbox.wechat.mchid,
    WECHATPAY_APPID: sandbox.wechat.appid,
    WECHATPAY_MERCHANT_SERIAL: sandbox.wechat.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: sandbox.wechat.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: sandbox.wechat.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: sandbox.wechat.publicKeyId,
    WECHATPAY_PUBLIC_KEY: sandbox.wechat.publicKeyPem,
    WECHATPAY_PLATFORM_CERTS: sandbox.wechat.platformCertsPem,
    SLACK_WEBHOOK_URL: sandbox.alerts.slackUrl,
    DINGTALK_WEBHOOK_URL: sandbox.alerts.dingtalkUrl,
    DINGTALK_SECRET: sandbox.alerts.dingtalkSecret,
    WECOM_WEBHOOK_URL: sandbox.alerts.wecomUrl,
  });
  return async () => {
    await sandbox.close();
    await standIn.close();
  };
}
