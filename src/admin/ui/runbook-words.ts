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
};

export const RUNBOOK_WORDS: Record<Lang, RunbookWords> = { en, zh };
