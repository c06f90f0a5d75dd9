// `startSandbox`: the Stripe + WeChat Pay simulators and alert receivers behind one local HTTP server,
// with signed webhook delivery, fault injection and scenario control. Used by tests, `npm start`, the
// benchmarks and the chaos simulation.
import { randomInt } from "node:crypto";
import { alertUrls, createAlertReceivers } from "./alerts/index.ts";
import { SANDBOX_SLACK_USER } from "./alerts/slack-app.ts";
import { createApiFaults } from "./api-faults.ts";
import { createCallLog } from "./calls.ts";
import { createSandboxClock } from "./clock.ts";
import { createControl } from "./control.ts";
import { createDeliveryQueue, deliveryOutcome } from "./delivery.ts";
import { createElsewhere } from "./elsewhere.ts";
import type { Clock } from "./http.ts";
import { loadOrCreateKeys } from "./keys.ts";
import { createOutbox } from "./outbox.ts";
import { createRouter } from "./router.ts";
import { listen } from "./server.ts";
import { createStreams } from "./streams.ts";
import { createStripeSandbox } from "./stripe/index.ts";
import { createWechatSandbox, type WechatCredentials } from "./wechat/index.ts";

/** How often time-driven transitions run: held deliveries released, sessions past expiry expired. */
export const SANDBOX_TICK_MS = 250;
const SEED_MAX = 2 ** 31;

export interface SandboxOptions {
  port?: number;
  /** Same seed, same ids and faults. Unset: a random seed, so ids never collide with an earlier run's. */
  seed?: number;
  /** JSON with generated keys/secrets; created on first start, reused after; undefined = in memory. */
  keysFile?: string;
  stripeWebhookUrl?: string;
  wechatNotifyUrl?: string;
  wechatMode?: "public_key" | "certificate" | "mixed";
  /** Unset: wall time that `/_control/clock` can move. */
  clock?: Clock;
  /** payguard's `/slack/interactions`: where the sandbox's Slack app sends button clicks. */
  slackInteractivityUrl?: string;
}

export interface Sandbox {
  url: string;
  seed: number;
  stripe: { secretKey: string; webhookSecret: string };
  wechat: WechatCredentials;
  alerts: ReturnType<typeof alertUrls> & { slackSigningSecret: string; slackUserId: string };
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const keys = await loadOrCreateKeys(options.keysFile);
  const seed = options.seed ?? randomInt(SEED_MAX);
  const streams = createStreams(seed);
  const clock = createSandboxClock(options.clock);
  const queue = createDeliveryQueue({ clock: clock.now, random: streams.stream("deliveryFaults") });
  const outbox = createOutbox(queue);
  let baseUrl = "";
  const stripe = createStripeSandbox({
    secretKey: keys.stripe.secretKey,
    webhookSecret: keys.stripe.webhookSecret,
    clock: clock.now,
    random: streams.stream("ids"),
    baseUrl: () => baseUrl,
    deliver: outbox.deliver,
    deliveryOutcome: (eventId) => deliveryOutcome(queue.log(), eventId),
  });
  if (options.stripeWebhookUrl) stripe.registerEndpoint(options.stripeWebhookUrl);
  const wechat = createWechatSandbox({
    mode: options.wechatMode ?? "public_key",
    credentials: keys.wechat.credentials,
    platformKeys: keys.wechat.platformKeys,
    notifyUrl: options.wechatNotifyUrl,
    clock: clock.now,
    random: streams.stream("wechat"),
    deliver: outbox.deliver,
  });
  const alerts = createAlertReceivers({
    clock: clock.now,
    tokens: keys.alerts,
    baseUrl: () => baseUrl,
    interactivityUrl: options.slackInteractivityUrl,
  });
  const apiFaults = createApiFaults(streams.stream("apiFaults"));
  const calls = createCallLog();
  const tick = () => {
    stripe.tick();
    queue.release();
  };
  const control = createControl({
    clock,
    stripe,
    wechat,
    queue,
    outbox,
    apiFaults,
    alerts,
    calls,
    streams,
    tick,
  });
  const mounts = [
    (request: Parameters<typeof wechat.handle>[0]) =>
      request.path.startsWith("/v3/") ? wechat.handle(request) : null,
    stripe.handle,
    alerts.handle,
    createElsewhere(),
  ];
  const server = await listen(
    options.port ?? 0,
    createRouter({ control, apiFaults, calls, clock: clock.now, mounts }),
  );
  baseUrl = server.url;
  const ticker = setInterval(tick, SANDBOX_TICK_MS);
  ticker.unref();
  return {
    url: server.url,
    seed,
    stripe: keys.stripe,
    wechat: keys.wechat.credentials,
    alerts: {
      ...alertUrls(server.url, keys.alerts),
      slackSigningSecret: alerts.slackSigningSecret,
      slackUserId: SANDBOX_SLACK_USER.id,
    },
    async close() {
      clearInterval(ticker);
      queue.close();
      await server.close();
    },
  };
}
