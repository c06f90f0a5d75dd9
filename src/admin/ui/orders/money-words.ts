/**
 * The words of the order page's money actions (refunds, review decisions, repairs, their confirmation
 * pages and refusals) in English and Chinese. `{name}` marks a value `fill` puts in; the zh object must
 * have every key of the en one.
 */
import type { Lang } from "../i18n.ts";

const en = {
  reviewTitle: "Why this order is in review",
  kindFlag: "A fact forced this review: the order stays in review until you decide.",
  kindDerived:
    "The order's own facts put it in review; it leaves review by itself once they no longer do (for example when the extra payment is refunded in full).",
  kindSoldOut: "No credits are granted until you decide.",
  reasonMismatch:
    "The payment does not match the order: {paid} was paid via {provider}, the order is {expected} via {orderProvider}.",
  reasonPaidTwice:
    "Paid twice: payment {extra} is extra and payment {keep} is kept. Refund the extra payment below; the review then clears by itself.",
  reasonRefundsExceed: "Refunds of {refunded} exceed the {paid} that was paid.",
  reasonForeignRefund: "Refund {ref} is not in the order's currency ({currency}).",
  reasonSoldOut:
    "Paid after the order expired, but package {package} sold out meanwhile: grant the credits (fulfil) or refund payment {ref}.",
  reasonOtherOrder: "The payment names order {claimed}, but it was recorded against this order.",
  reasonOtherUser: "The payment names user {user}, but this order belongs to another user.",
  reasonOtherSession: "The payment came through {session}, but the order was opened as {stored}.",
  reasonInactive: "Rebuilt from the payment's metadata for package {package}, which is no longer on sale.",
  reasonBeyondStock: "Rebuilt from the payment's metadata beyond the stock of package {package}.",
  reasonOtherMerchant: "The provider's notification is for another merchant or app.",
  reasonUnknown: "Reason recorded: {raw}",
  reasonRecorded: "As recorded",
  decideTitle: "Decide",
  decideHelp: "Nothing is preselected: choose one, then check the confirmation page.",
  fulfilOption: "Fulfil: credit payment {ref} ({amount})",
  rejectOption: "Reject: the order fails and keeps no credits",
  fulfilNotOffered:
    "Fulfil is not offered: no payment of the order's amount ({amount}) was recorded. Refund the mismatched payment, then reject the order.",
  continue: "Continue…",
  extraTitle: "Refund the mismatched / extra payment",
  roleSecond: "second payment",
  roleMismatch: "amount, currency or provider differs from the order",
  roleDisputed: "its references disagree with the order",
  paidAt: "paid",
  leftToRefund: "left to refund",
  refundThis: "Refund this payment…",
  refundTitle: "Refund",
  amountIn: "Amount ({currency})",
  refundDefault: "{remaining} of {paid} left to refund; change it for a partial refund.",
  nothingLeft: "Nothing is left to refund on this payment.",
  refundNext: "Refund…",
  refundLine: "Refund {amount} of {paid} {currency}",
  creditsLine: "{delta} of {credits} credits",
  creditsUnchanged: "credits unchanged",
  balanceLine: "balance {before} → {after}",
  rejectLine: "Reject order {order}",
  fulfilLine: "Fulfil order {order} with payment {ref} ({amount})",
  grantLine: "Grant the missing purchase credits",
  balanceRepairLine: "Set the stored balance to the ledger sum",
  order: "Order",
  payment: "Payment",
  leftAfter: "Left to refund afterwards",
  changedSince:
    "A refund of this payment was recorded after the confirmation was shown: look at the order again before refunding more.",
  syncedMany: "{synced} synced, {fulfilled} fulfilled",
  problemTitle: "Not done",
  nothingChanged: "Nothing was changed.",
  back: "Back",
  amountFormat: "Type the amount in {currency} as digits with a point, for example {example}.",
  amountPrecision: "{currency} amounts have {digits} decimals: {text} cannot be refunded exactly.",
  amountZero: "The amount must be more than zero.",
  overRemaining: "{amount} is more than the {remaining} left to refund on this payment (paid {paid}).",
  moreThanLeft: "That is more than the {remaining} left to refund on this payment.",
  orderState: "This order is {status} now, so this action does not apply to it.",
  noFulfilPayment:
    "This order cannot be fulfilled: no payment of its amount was recorded. Refund the mismatched payment, then reject it.",
  notFound: "Not found: {what}.",
  unavailable:
    "The database or the provider did not answer in time. Try again: repeating is safe, a refund is made once.",
  misconfigured: "payguard cannot reach its database functions: {detail}",
  conflict: "Refused by the database or the provider: {detail}",
  invalidForm: "The form is incomplete or invalid: {fields}.",
  fieldReason: "a reason (3 to 500 characters)",
  fieldAmount: "an amount",
  fieldResolution: "a decision (fulfil or reject)",
  fieldPayment: "the payment",
  fieldKind: "what to repair",
  providerStripe: "Stripe",
  providerWechatpay: "WeChat Pay",
  statusPending: "pending",
  statusFulfilled: "fulfilled",
  statusPartiallyRefunded: "partially refunded",
  statusRefunded: "refunded",
  statusExpired: "expired",
  statusFailed: "failed",
  statusNeedsReview: "in review",
};

export type MoneyWords = { [K in keyof typeof en]: string };

const zh: MoneyWords = {
  reviewTitle: "此订单为何需要审核",
  kindFlag: "某个事实强制进入审核：在你做出决定前订单一直处于审核中。",
  kindDerived:
    "订单自身的事实使其进入审核；当这些事实不再成立时（例如多付的款项已全额退还），会自动退出审核。",
  kindSoldOut: "在你做出决定前不发放积分。",
  reasonMismatch: "支付与订单不符：实付 {paid}（{provider}），订单应付 {expected}（{orderProvider}）。",
  reasonPaidTwice:
    "重复支付：支付 {extra} 为多付，保留支付 {keep}。请在下方退还多付的款项，审核随后自动解除。",
  reasonRefundsExceed: "退款合计 {refunded} 超过实付的 {paid}。",
  reasonForeignRefund: "退款 {ref} 的币种与订单币种（{currency}）不同。",
  reasonSoldOut: "订单过期后才支付，但套餐 {package} 在此期间已售罄：发放积分（通过）或退还支付 {ref}。",
  reasonOtherOrder: "支付指向订单 {claimed}，却记在了此订单上。",
  reasonOtherUser: "支付指向用户 {user}，但此订单属于另一个用户。",
  reasonOtherSession: "支付来自 {session}，但订单创建时对应的是 {stored}。",
  reasonInactive: "按支付元数据重建，但套餐 {package} 已下架。",
  reasonBeyondStock: "按支付元数据重建，但超出了套餐 {package} 的库存。",
  reasonOtherMerchant: "渠道通知属于其他商户或应用。",
  reasonUnknown: "记录的原因：{raw}",
  reasonRecorded: "原始记录",
  decideTitle: "处理",
  decideHelp: "没有默认选项：请选择一项，然后在确认页核对。",
  fulfilOption: "通过：按支付 {ref}（{amount}）发放积分",
  rejectOption: "拒绝：订单失败，不保留任何积分",
  fulfilNotOffered:
    "无法选择“通过”：没有记录到与订单金额（{amount}）一致的支付。请先退还不符的款项，再拒绝订单。",
  continue: "下一步…",
  extraTitle: "退还不符或多付的款项",
  roleSecond: "重复支付",
  roleMismatch: "金额、币种或渠道与订单不符",
  roleDisputed: "支付的关联信息与订单不一致",
  paidAt: "支付于",
  leftToRefund: "可退",
  refundThis: "退还这笔支付…",
  refundTitle: "退款",
  amountIn: "金额（{currency}）",
  refundDefault: "可退 {remaining} / 实付 {paid}；部分退款请修改金额。",
  nothingLeft: "这笔支付已无可退金额。",
  refundNext: "退款…",
  refundLine: "退款 {amount} / {paid} {currency}",
  creditsLine: "积分 {delta} / {credits}",
  creditsUnchanged: "积分不变",
  balanceLine: "余额 {before} → {after}",
  rejectLine: "拒绝订单 {order}",
  fulfilLine: "通过订单 {order}，按支付 {ref}（{amount}）",
  grantLine: "补发缺失的购买积分",
  balanceRepairLine: "将存储余额设为账本合计",
  order: "订单",
  payment: "支付",
  leftAfter: "退款后剩余可退",
  changedSince: "确认页显示之后，这笔支付又记录了一笔退款：请重新查看订单后再决定是否继续退款。",
  syncedMany: "已同步 {synced} 个，其中到账 {fulfilled} 个",
  problemTitle: "未执行",
  nothingChanged: "没有做任何改动。",
  back: "返回",
  amountFormat: "请以 {currency} 填写金额，只用数字和小数点，例如 {example}。",
  amountPrecision: "{currency} 金额最多 {digits} 位小数：无法精确退还 {text}。",
  amountZero: "金额必须大于零。",
  overRemaining: "{amount} 超过了这笔支付剩余可退的 {remaining}（实付 {paid}）。",
  moreThanLeft: "超过了这笔支付剩余可退的 {remaining}。",
  orderState: "此订单当前为“{status}”，此操作不适用。",
  noFulfilPayment: "此订单无法通过：没有记录到与订单金额一致的支付。请先退还不符的款项，再拒绝订单。",
  notFound: "未找到：{what}。",
  unavailable: "数据库或渠道未及时响应。请重试：重复提交是安全的，同一笔退款只会执行一次。",
  misconfigured: "payguard 无法调用其数据库函数：{detail}",
  conflict: "数据库或渠道拒绝了请求：{detail}",
  invalidForm: "表单不完整或有误：{fields}。",
  fieldReason: "原因（3 到 500 个字符）",
  fieldAmount: "金额",
  fieldResolution: "处理方式（通过或拒绝）",
  fieldPayment: "支付",
  fieldKind: "修复类型",
  providerStripe: "Stripe",
  providerWechatpay: "微信支付",
  statusPending: "待支付",
  statusFulfilled: "已到账",
  statusPartiallyRefunded: "部分退款",
  statusRefunded: "已退款",
  statusExpired: "已过期",
  statusFailed: "已失败",
  statusNeedsReview: "待审核",
};

export const MONEY_WORDS: Record<Lang, MoneyWords> = { en, zh };

/** Puts values into a template: fill("Refund {amount}", { amount: "1.00" }) → "Refund 1.00". */
export const fill = (template: string, values: Record<string, string | number>) =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));

const STATUS_KEYS: Record<string, keyof MoneyWords> = {
  pending: "statusPending",
  fulfilled: "statusFulfilled",
  partially_refunded: "statusPartiallyRefunded",
  refunded: "statusRefunded",
  expired: "statusExpired",
  failed: "statusFailed",
  needs_review: "statusNeedsReview",
};

export const providerWord = (w: MoneyWords, provider: string) =>
  provider === "stripe" ? w.providerStripe : provider === "wechatpay" ? w.providerWechatpay : provider;

export const statusWord = (w: MoneyWords, status: string) => {
  const key = STATUS_KEYS[status];
  return key ? w[key] : status;
};
