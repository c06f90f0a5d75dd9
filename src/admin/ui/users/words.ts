/**
 * The user page's words (subscriptions and their invoices) in English and Chinese. `zh` is typed from `en`,
 * so a word added in one language and not the other fails to compile. Stripe's statuses and billing reasons
 * and the grant rules the SQL records are worded here; anything newer shows as written.
 */
import type { Lang } from "../i18n.ts";

const en = {
  user: "User",
  ordersOfUser: "Orders of this user",
  subscriptions: "Subscriptions",
  noSubscriptions:
    "No subscription is recorded for this user. One appears here once Stripe reports it: its webhooks, the reconcile's re-check, or a repair of its sub_… reference from the runbook.",
  subscription: "Subscription",
  plan: "Plan",
  status: "Status",
  currentPeriod: "Current period",
  cancelAtPeriodEnd: "Cancels at period end",
  since: "Since",
  yes: "yes",
  no: "no",
  checkAtStripe: "Check it at Stripe (repair dry run)",
  invoices: "Invoices",
  noInvoices: "No paid invoice recorded yet.",
  invoice: "Invoice",
  billingReason: "Billing reason",
  period: "Period",
  amountPaid: "Amount paid",
  creditsByRule: "Credits by the rule",
  rule: "Rule",
  granted: "Granted",
  expired: "Expired",
  order: "Order",
  noGrant: "no grant",
  statuses: {
    active: "active",
    trialing: "trial",
    past_due: "past due",
    unpaid: "unpaid",
    canceled: "canceled",
    incomplete: "incomplete",
    incomplete_expired: "incomplete, expired",
    paused: "paused",
    unknown: "not reported yet",
  } as Record<string, string>,
  reasons: {
    subscription_create: "first payment",
    subscription_cycle: "renewal",
    subscription_update: "plan change",
    subscription_threshold: "usage threshold",
    subscription: "subscription",
    manual: "manual invoice",
  } as Record<string, string>,
  rules: {
    "full period": "full period",
    proration: "proration",
    "full period + proration": "full period + proration",
  } as Record<string, string>,
  nothingDue: (rule: string) => `${rule}: nothing due`,
};

export type UserWords = typeof en;

const zh: UserWords = {
  user: "用户",
  ordersOfUser: "该用户的订单",
  subscriptions: "订阅",
  noSubscriptions:
    "该用户没有订阅记录。Stripe 报告订阅后即会显示在这里：来自其回调、对账的复查，或在运维手册中按其 sub_… 单号修复。",
  subscription: "订阅",
  plan: "套餐",
  status: "状态",
  currentPeriod: "当前周期",
  cancelAtPeriodEnd: "周期结束时取消",
  since: "开始于",
  yes: "是",
  no: "否",
  checkAtStripe: "到 Stripe 核对（试运行修复）",
  invoices: "账单",
  noInvoices: "尚无已支付账单的记录。",
  invoice: "账单",
  billingReason: "账单原因",
  period: "周期",
  amountPaid: "实付金额",
  creditsByRule: "按规则应发积分",
  rule: "规则",
  granted: "已发放",
  expired: "已过期",
  order: "订单",
  noGrant: "未发放",
  statuses: {
    active: "生效中",
    trialing: "试用中",
    past_due: "逾期未付",
    unpaid: "未支付",
    canceled: "已取消",
    incomplete: "未完成",
    incomplete_expired: "未完成，已失效",
    paused: "已暂停",
    unknown: "尚未报告",
  },
  reasons: {
    subscription_create: "首次付款",
    subscription_cycle: "续费",
    subscription_update: "更换套餐",
    subscription_threshold: "用量阈值",
    subscription: "订阅",
    manual: "手动账单",
  },
  rules: {
    "full period": "整期",
    proration: "按比例",
    "full period + proration": "整期 + 按比例",
  },
  nothingDue: (rule) => `${rule}：无应发`,
};

export const USER_WORDS: Record<Lang, UserWords> = { en, zh };

/** The rule the SQL recorded ("full period", "proration: nothing due" …), in words. */
export function ruleWords(rule: string, w: UserWords): string {
  const [name = "", rest] = rule.split(": ");
  const named = w.rules[name] ?? name;
  if (rest === undefined) return named;
  return rest === "nothing due" ? w.nothingDue(named) : rule;
}
