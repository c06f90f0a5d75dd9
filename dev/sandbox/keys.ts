// Secrets the sandbox and a local payguard share: Stripe keys, WeChat Pay merchant + platform keys,
// alert-channel tokens. Generated on first start and written to the keys file (mode 600), reused after,
// so `.dev.vars` and the sandbox agree across restarts. Without a file they live in memory only.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { AlertTokens } from "./alerts/types.ts";
import { newWebhookSecret } from "./stripe/endpoints.ts";
import { generateWechatKeys, type WechatCredentials, type WechatPlatformKeys } from "./wechat/index.ts";

export interface SandboxKeys {
  stripe: { secretKey: string; webhookSecret: string };
  wechat: { credentials: WechatCredentials; platformKeys: WechatPlatformKeys };
  alerts: AlertTokens;
}

export async function generateSandboxKeys(): Promise<SandboxKeys> {
  return {
    stripe: { secretKey: `sk_test_${randomBytes(24).toString("hex")}`, webhookSecret: newWebhookSecret() },
    wechat: await generateWechatKeys(),
    alerts: {
      slackToken: randomBytes(12).toString("hex"),
      dingtalkToken: randomBytes(32).toString("hex"),
      dingtalkSecret: `SEC${randomBytes(32).toString("hex")}`,
      wecomKey: randomUUID(),
    },
  };
}

function looksComplete(value: unknown): value is SandboxKeys {
  const keys = value as Partial<SandboxKeys> | null;
  return Boolean(
    keys?.stripe?.secretKey &&
      keys.wechat?.credentials &&
      keys.wechat.platformKeys &&
      keys.alerts?.dingtalkSecret,
  );
}

export async function loadOrCreateKeys(file?: string): Promise<SandboxKeys> {
  if (!file) return generateSandboxKeys();
  if (existsSync(file)) {
    const stored: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!looksComplete(stored))
      throw new Error(`sandbox keys file ${file} is incomplete; delete it to regenerate`);
    return stored;
  }
  const keys = await generateSandboxKeys();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
