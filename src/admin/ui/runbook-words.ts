/** The runbook page's words (repair from references, inbox replay, sales switch) in English and Chinese. */
import type { Lang } from "./i18n.ts";

const en = {
  runbook: "Runbook",
  salesTitle: "Sales",
  salesOn: "All packages are on sale.",
  salesPausedBanner: "Sales paused (new checkouts refused; paid orders are still credited):",
  allPackages: "all packages",
  scope: "Package",
  pausedAt: "Paused at",
  pausedBy: "Paused by",
  pauseSales: "Pause sales",
  resumeSales: "Resume sales",
  repairTitle: "Repair from provider references",
  repairHelp:
    "Stripe pi_… / cs_…, WeChat Pay transaction_id (digits) or out_trade_no; one per line, at most 100. Each is fetched from the provider and settled through its order's guard; a missing order is rebuilt from the payment's metadata.",
  refs: "References",
  dryRun: "Dry run",
  repairNow: "Repair",
  replayTitle: "Replay failed or stuck inbox events",
  replayHelp:
    "Stripe events are fetched again by id; WeChat Pay notifications cannot be, so their order is queried instead. Stuck = still received after 10 minutes.",
  eventType: "Event type",
  limit: "At most",
  replayNow: "Replay",
  results: "Results",
  ref: "Reference",
  outcome: "Outcome",
  event: "Event",
  dryRunNote: "Dry run: nothing was changed.",
  runForReal: "Run it for real…",
  runForRealHelp: "The same inputs as this dry run; a confirmation page follows.",
  repairCount: "References to repair: {count}",
  replayLine: "Replay the inbox events matching: {filter}",
  anyFilter: "failed + stuck, any provider",
  inboxFailed: "failed",
  inboxStuck: "stuck",
  inboxReceived: "received",
};

export type RunbookWords = { [K in keyof typeof en]: string };

const zh: RunbookWords = {
  runbook: "运维手册",
  salesTitle: "销售开关",
  salesOn: "所有套餐正常销售。",
  salesPausedBanner: "已暂停销售（拒绝新下单；已支付订单照常到账）：",
  allPackages: "全部套餐",
  scope: "套餐",
  pausedAt: "暂停时间",
  pausedBy: "操作人",
  pauseSales: "暂停销售",
  resumeSales: "恢复销售",
  repairTitle: "按渠道单号修复",
  repairHelp:
    "Stripe pi_… / cs_…、微信支付 transaction_id（纯数字）或 out_trade_no，每行一个，最多 100 个。逐个向渠道查询，经订单守卫结算；订单缺失时按支付元数据重建。",
  refs: "单号",
  dryRun: "试运行",
  repairNow: "修复",
  replayTitle: "重放失败或卡住的回调事件",
  replayHelp:
    "Stripe 事件按 ID 重新拉取；微信支付通知无法重新拉取，改为查询其订单。卡住 = 收到 10 分钟后仍未处理完。",
  eventType: "事件类型",
  limit: "最多",
  replayNow: "重放",
  results: "结果",
  ref: "单号",
  outcome: "结果",
  event: "事件",
  dryRunNote: "试运行：未做任何改动。",
  runForReal: "正式执行…",
  runForRealHelp: "使用与本次试运行相同的输入；下一步为确认页。",
  repairCount: "待修复单号：{count} 个",
  replayLine: "重放符合条件的回调事件：{filter}",
  anyFilter: "失败 + 卡住，全部渠道",
  inboxFailed: "失败",
  inboxStuck: "卡住",
  inboxReceived: "已收到",
};

export const RUNBOOK_WORDS: Record<Lang, RunbookWords> = { en, zh };

/** Outcomes of a repair or replay, per reference or event (dry run and real run); others show as recorded. */
const OUTCOMES_EN = {
  still_pending: "still pending at the provider",
  partially_refunded: "partially refunded",
  refunded: "refunded",
  balance_recomputed: "balance recomputed from the ledger",
  refund_made_settle_pending: "refund made at the provider; its settlement follows",
  already_paused: "already paused",
  not_paused: "was not paused",
  paused: "sales paused",
  resumed: "sales resumed",
  expired: "expired",
  would_credit: "would credit",
  would_rebuild: "would rebuild the order and credit",
  would_review: "would go to review",
  would_refetch: "would fetch again",
  already_fulfilled: "already credited",
  in_review: "in review",
  not_paid: "not paid",
  not_found: "not found at the provider",
  not_configured: "provider not configured",
  not_refetchable: "cannot be fetched again",
  rate_limited: "rate limited: try again",
  failed: "failed",
  bad_ref: "not a reference",
  mismatch: "does not match the order",
  no_order_named: "names no order",
  no_order: "no order",
  query_order: "order queried",
  fulfilled: "credited",
  created_from_metadata: "order rebuilt and credited",
  late_payment: "late payment credited",
  needs_review: "in review",
  held: "held: the order is not stored",
  duplicate: "already applied",
};

const OUTCOMES_ZH: { [K in keyof typeof OUTCOMES_EN]: string } = {
  still_pending: "渠道侧仍未支付",
  partially_refunded: "已部分退款",
  refunded: "已退款",
  balance_recomputed: "已按流水重算余额",
  refund_made_settle_pending: "渠道已退款，入账稍后完成",
  already_paused: "已处于暂停状态",
  not_paused: "原本未暂停",
  paused: "已暂停销售",
  resumed: "已恢复销售",
  expired: "已过期",
  would_credit: "将发放积分",
  would_rebuild: "将重建订单并发放积分",
  would_review: "将进入审核",
  would_refetch: "将重新拉取",
  already_fulfilled: "已到账",
  in_review: "审核中",
  not_paid: "未支付",
  not_found: "渠道查无此单",
  not_configured: "渠道未配置",
  not_refetchable: "无法重新拉取",
  rate_limited: "被限流：请重试",
  failed: "失败",
  bad_ref: "不是有效单号",
  mismatch: "与订单不符",
  no_order_named: "未指向任何订单",
  no_order: "没有订单",
  query_order: "已查询订单",
  fulfilled: "已到账",
  created_from_metadata: "已重建订单并到账",
  late_payment: "迟到的支付已到账",
  needs_review: "待审核",
  held: "已暂存：订单不存在",
  duplicate: "已处理过",
};

const OUTCOMES: Record<Lang, Record<string, string>> = { en: OUTCOMES_EN, zh: OUTCOMES_ZH };

/** A flash line's outcome: a known code in words with the code kept beside it, any other text as it is. */
export const outcomeLine = (lang: Lang, outcome: string): string =>
  Object.hasOwn(OUTCOMES[lang], outcome) ? `${OUTCOMES[lang][outcome]} (${outcome})` : outcome;

export const outcomeWord = (lang: Lang, outcome: string) =>
  Object.hasOwn(OUTCOMES[lang], outcome) ? (OUTCOMES[lang][outcome] as string) : outcome;
