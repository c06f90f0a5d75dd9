/**
 * Fault mixes for the chaos simulation. `default` is the issue's: every delivery fault (WeChat refund
 * notifications dropped and duplicated a further share), transient database failures and connections
 * lost mid-transaction, provider API 5xx / 429 / timeouts, overlapping crons, and every scenario (refunds
 * failing after success and disputes are scenarios: ./plan.ts). `webhooks` keeps every fault the webhook
 * path must survive on its own (no dropped deliveries, and no WeChat abandon, which only the reconcile
 * cron can expire); `none` runs every scenario without faults.
 */
export type ProfileName = "none" | "webhooks" | "default";

export interface Profile {
  delivery: Record<string, unknown> | null;
  dbFailureRate: number;
  /** Of the database calls not failed before, the share whose connection is lost before the commit (57P01). */
  dbLostConnectionRate: number;
  api: Record<string, unknown>[];
  /** Scenarios only the reconcile cron can finish: a WeChat order left unpaid must be closed by it. */
  wechatAbandons: boolean;
}

/**
 * The providers' own retries, on the simulation's clock (one cron tick stands for five minutes): Stripe
 * retries a failed delivery for three days, WeChat Pay 15 times over 24 hours. Ten attempts doubling
 * from 250 ms (the sandbox caps a wait at 60 s) keep retrying for about two minutes, still far shorter.
 */
const RETRIES = { attemptsMax: 10, retryBaseMs: 250 };
const SHAKEN = { duplicate: 0.1, reorder: 0.1, delay: 0.1, delayMaxMs: 300 };
/**
 * WeChat refund notifications a further seeded share on top of the rates every delivery draws: a lost
 * one is recovered only by the next day's bill (bench/chaos/wechat-bill.ts), a duplicated one must claw
 * back once. First match wins, so about 10 % are dropped by the rule and 9 % duplicated by it.
 */
const WECHAT_REFUND = { provider: "wechatpay", eventType: "REFUND.SUCCESS" };
const WECHAT_REFUND_DUPLICATES = { action: "duplicate", match: WECHAT_REFUND, rate: 0.1, copies: 1 };
const WECHAT_REFUND_DROPS = { action: "drop", match: WECHAT_REFUND, rate: 0.1 };
const API_FAULTS = [
  { kind: "5xx", status: 503, rate: 0.05, pathPrefix: "/v" },
  { kind: "429", retryAfterS: 1, rate: 0.05, pathPrefix: "/v" },
  { kind: "timeout", hangMs: 1_500, rate: 0.02, pathPrefix: "/v" },
];

export const PROFILES: Record<ProfileName, Profile> = {
  none: { delivery: null, dbFailureRate: 0, dbLostConnectionRate: 0, api: [], wechatAbandons: true },
  webhooks: {
    delivery: { rules: [WECHAT_REFUND_DUPLICATES], rates: SHAKEN, ...RETRIES },
    dbFailureRate: 0.02,
    dbLostConnectionRate: 0.01,
    api: API_FAULTS,
    wechatAbandons: false,
  },
  default: {
    delivery: {
      rules: [WECHAT_REFUND_DROPS, WECHAT_REFUND_DUPLICATES],
      rates: { drop: 0.05, ...SHAKEN },
      ...RETRIES,
    },
    dbFailureRate: 0.02,
    dbLostConnectionRate: 0.01,
    api: API_FAULTS,
    wechatAbandons: true,
  },
};

export const isProfileName = (value: string): value is ProfileName => value in PROFILES;
