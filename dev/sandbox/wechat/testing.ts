// Test-only: a WeChat simulator on a clock the test moves, collecting what it would deliver.
import type { QueuedDelivery } from "../http.ts";
import { mulberry32 } from "../rng.ts";
import {
  createWechatSandbox,
  type WechatCredentials,
  type WechatMode,
  type WechatPlatformKeys,
} from "./index.ts";

export const TEST_NOTIFY_URL = "https://payguard.example.com/webhooks/wechatpay";

export function simulatorForTest(
  keys: { credentials: WechatCredentials; platformKeys: WechatPlatformKeys },
  options: { mode: WechatMode; seed: number; startMs: number },
) {
  let nowMs = options.startMs;
  const deliveries: QueuedDelivery[] = [];
  const sandbox = createWechatSandbox({
    mode: options.mode,
    credentials: keys.credentials,
    platformKeys: keys.platformKeys,
    notifyUrl: TEST_NOTIFY_URL,
    clock: () => nowMs,
    random: mulberry32(options.seed),
    deliver: (delivery) => deliveries.push(delivery),
  });
  return { sandbox, deliveries, now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}
