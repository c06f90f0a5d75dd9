/**
 * What each order timeline entry means, in English and Chinese: one label per event kind the SQL writes
 * (`payguard._order_event`), operator actions by name. An unknown kind (newer SQL) is shown as written.
 */
import type { Lang } from "../i18n.ts";

const KINDS_EN: Record<string, string> = {
  created: "Order created",
  checkout_started: "Checkout opened at the provider",
  paid: "Payment received, credits granted",
  late_payment: "Payment received after the order expired",
  second_payment: "A second payment for the same order",
  payment_mismatch: "Payment that does not match the order",
  payment_disputed: "Payment whose references disagree",
  awaiting_payment: "Payment in flight (settles later)",
  needs_review: "Sent to review",
  created_from_metadata: "Order rebuilt from the payment's metadata",
  refunded: "Refund",
  refund_failed: "Refund failed",
  refund_awaited: "Refund reported by the provider, not here yet",
  dispute_open: "Chargeback opened",
  dispute_won: "Chargeback won",
  dispute_lost: "Chargeback lost",
  expired: "Expired",
  failed: "Payment failed",
  review_resolved: "Review decided",
  grant_repaired: "Missing credits granted",
  created_from_invoice: "Order written for a paid subscription invoice",
  credits_expired: "Unused credits expired (the period ended)",
};

const KINDS_ZH: Record<string, string> = {
  created: "创建订单",
  checkout_started: "已在渠道发起支付",
  paid: "收到付款，积分已发放",
  late_payment: "订单过期后收到付款",
  second_payment: "同一订单的重复付款",
  payment_mismatch: "与订单不符的付款",
  payment_disputed: "单号不一致的付款",
  awaiting_payment: "付款处理中（稍后结算）",
  needs_review: "转人工审核",
  created_from_metadata: "根据付款元数据重建订单",
  refunded: "退款",
  refund_failed: "退款失败",
  refund_awaited: "渠道报告已退款，本系统尚未收到",
  dispute_open: "拒付发起",
  dispute_won: "拒付胜诉",
  dispute_lost: "拒付败诉",
  expired: "已过期",
  failed: "支付失败",
  review_resolved: "审核已处理",
  grant_repaired: "补发积分",
  created_from_invoice: "根据已支付的订阅账单生成订单",
  credits_expired: "未用积分已过期（周期结束）",
};

const ACTIONS_EN: Record<string, string> = {
  sync: "sync with the provider",
  expire: "expire (closed at the provider)",
  refund: "refund",
  repair_grant: "grant missing credits",
  repair_balance: "recompute the balance",
  resolve_review_fulfil: "review: fulfil",
  resolve_review_reject: "review: reject",
};

const ACTIONS_ZH: Record<string, string> = {
  sync: "与渠道同步",
  expire: "关闭订单（已在渠道关单）",
  refund: "退款",
  repair_grant: "补发积分",
  repair_balance: "重算余额",
  resolve_review_fulfil: "审核：通过并发放",
  resolve_review_reject: "审核：拒绝",
};

const ADMIN_PREFIX = "admin_";

/** The entry's label: "Operator: refund" for `admin_refund`, the kind itself when unknown. */
export function timelineKind(kind: string, lang: Lang): string {
  const zh = lang === "zh";
  if (kind.startsWith(ADMIN_PREFIX)) {
    const action = kind.slice(ADMIN_PREFIX.length);
    const name = (zh ? ACTIONS_ZH : ACTIONS_EN)[action] ?? action;
    return zh ? `运维操作：${name}` : `Operator: ${name}`;
  }
  return (zh ? KINDS_ZH : KINDS_EN)[kind] ?? kind;
}
