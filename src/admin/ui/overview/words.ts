/**
 * The overview's words in English and Chinese: the "needs attention" band, the cards, the charts, the
 * webhook table and the "paid, not credited" list. Typed so the Chinese object must have every key of the
 * English one. 告警 is an incident, 事件 a provider event.
 */
import type { Lang } from "../i18n.ts";

const en = {
  attentionTitle: "Needs attention",
  calmTitle: "Nothing needs attention",
  calmText:
    "No open critical incident, every payment recorded here is credited, no order in review, the inbox is clear and no provider check is failing.",
  oldest: "oldest {age}",
  critical: "Critical incidents open",
  paidNotCredited: "Paid, not credited",
  paidNotCreditedHelp: "customers paid and got nothing yet",
  inReview: "Orders in review",
  appHookFailed: "App hook failing",
  appHookFailedHelp: "payguard_app.on_settled refused a settlement; it rolls back until the app is fixed",
  inbox: "Provider events failed or stuck",
  inboxDetail: "{failed} failed · {stuck} stuck",
  checkFailed: "Pending orders whose last provider check failed",
  lastError: "last error:",
  severity_critical: "critical",
  severity_warning: "warning",
  severity_info: "info",
  incidentsBySeverity: "Open incidents by severity",
  perBucket: "credited payments per {bucket}",
  timesIn: "times in {zone}",
  latencyTitle: "Paid → credited",
  median: "median (p50)",
  p95: "95th percentile",
  scale: "bar: 0 → {max}",
  path_webhook: "callback",
  path_reconcile: "reconciliation",
  path_confirm: "success page",
  path_admin: "operator",
  path_unknown: "unknown",
  webhooksTitle: "Webhook deliveries by provider",
  webhooksHelp:
    "Success = delivery attempts payguard settled ÷ every attempt in the window, redeliveries included: a failed delivery that a later redelivery or a replay settled still counts as failed. Attempts answered while the database was unreachable cannot be recorded.",
  events: "Events",
  deliveries: "Delivery attempts",
  failedAttempts: "Failed attempts",
  success: "Success",
  provider_stripe: "Stripe",
  provider_wechatpay: "WeChat Pay",
  run_ok: "ok",
  run_partial: "partial",
  run_error: "error",
  notCreditedTitle: "Paid, not credited",
  notCreditedHelp:
    "Money that reached payguard and credits nobody: orders with a provider payment recorded (beyond what was refunded) and no purchase credits (in review because the unit sold out, the amount did not match or the references disagree, or rejected by an operator with the payment still to refund), and payments held because their order was never written. Oldest first.",
  notCreditedNone: "Every payment recorded here is credited.",
  what: "What",
  kind_order: "order",
  kind_held: "held payment",
  heldWhy: "the order was never written: repair it from the payment reference in the runbook",
  rejectedWhy: "rejected by an operator: refund the payment",
  reference: "Order / payment",
  why: "Why",
  since: "Since",
  amount: "Amount",
  status: "Status",
  listCapped: "Showing the oldest {n}.",
} as const;

export type OverviewWords = { [K in keyof typeof en]: string };

const zh: OverviewWords = {
  attentionTitle: "需要处理",
  calmTitle: "目前没有需要处理的问题",
  calmText:
    "没有未处理的严重告警，本系统记录的每笔付款都已到账，没有待审核订单，回调收件箱已清空，渠道查询没有失败。",
  oldest: "最早 {age}",
  critical: "未处理的严重告警",
  paidNotCredited: "已付款未到账",
  paidNotCreditedHelp: "客户已付款但尚未获得任何权益",
  inReview: "待审核订单",
  appHookFailed: "应用钩子失败",
  appHookFailedHelp: "payguard_app.on_settled 拒绝了结算；应用修复前每次都会回滚",
  inbox: "处理失败或卡住的渠道事件",
  inboxDetail: "失败 {failed} · 卡住 {stuck}",
  checkFailed: "最近一次渠道查询失败的待支付订单",
  lastError: "最近错误：",
  severity_critical: "严重",
  severity_warning: "警告",
  severity_info: "提示",
  incidentsBySeverity: "按级别的未处理告警",
  perBucket: "每 {bucket} 到账笔数",
  timesIn: "时间为 {zone}",
  latencyTitle: "付款 → 到账",
  median: "中位数（p50）",
  p95: "95 分位",
  scale: "条形：0 → {max}",
  path_webhook: "回调",
  path_reconcile: "对账",
  path_confirm: "支付成功页",
  path_admin: "运维操作",
  path_unknown: "未知",
  webhooksTitle: "各渠道回调投递",
  webhooksHelp:
    "成功率 = payguard 处理成功的投递次数 ÷ 时间窗口内的全部投递次数（含重发）：失败的投递即使之后被重发或重放处理成功，仍计为失败。数据库无法连接时的投递无法记录。",
  events: "事件数",
  deliveries: "投递次数",
  failedAttempts: "失败次数",
  success: "成功率",
  provider_stripe: "Stripe",
  provider_wechatpay: "微信支付",
  run_ok: "成功",
  run_partial: "部分完成",
  run_error: "出错",
  notCreditedTitle: "已付款未到账",
  notCreditedHelp:
    "已到达 payguard 却没有给任何人入账的钱：记录了渠道付款（扣除已退款部分）但没有购买积分的订单（因库存售罄、金额不符或引用不一致而待审核，或被运维拒绝、付款尚待退还），以及因订单从未写入而暂存的付款。按时间从早到晚排列。",
  notCreditedNone: "本系统记录的每笔付款都已到账。",
  what: "类型",
  kind_order: "订单",
  kind_held: "暂存的付款",
  heldWhy: "订单从未写入：请在运维手册页按付款单号修复",
  rejectedWhy: "已被运维拒绝：请退还这笔付款",
  reference: "订单 / 付款",
  why: "原因",
  since: "起始时间",
  amount: "金额",
  status: "状态",
  listCapped: "仅显示最早的 {n} 条。",
};

export const OVERVIEW_WORDS: Record<Lang, OverviewWords> = { en, zh };

/** Puts values into a template: fill("oldest {age}", { age: "5 min ago" }) → "oldest 5 min ago". */
export const fill = (template: string, values: Record<string, string | number>): string =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));

/** A word keyed by a value from the data (`path_webhook`, `run_ok`…), or the value itself when unknown. */
export function wordFor(w: OverviewWords, prefix: string, value: unknown): string {
  const key = `${prefix}_${String(value)}`;
  return key in w ? w[key as keyof OverviewWords] : String(value);
}
