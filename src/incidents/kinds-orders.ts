/**
 * Incident kinds about one order or one payment, raised by the settlement functions (supabase/migrations,
 * through the outbox) and by the worker's settle and webhook paths (src/ledger/settle.ts,
 * src/providers/stripe/apply-event.ts, src/providers/wechatpay/notify.ts). Order ids sit in `order_id`.
 */
import type { IncidentKind } from "./catalogue.ts";
import { amountSuffix, field, providerName, reviewReason, titled } from "./text.ts";

const order = (d: Record<string, unknown>) => field(d, "order_id");
const list = (value: unknown) =>
  Array.isArray(value) ? value.map(String).join(", ") : typeof value === "string" ? value : "?";

const REVIEW_RUNBOOK = {
  en: [
    "Read the reason and the order's payments on its page.",
    "Amount, currency, merchant or user mismatch: refund the mismatched payment, then reject the order (or fulfil it if it is right after all).",
    "Paid twice: keep the first payment and refund the other one.",
    "Decide on the order page (Resolve review); the decision resolves this incident.",
  ],
  zh: [
    "在订单页查看审核原因和该订单的各笔付款。",
    "金额、币种、商户或用户不符：先退还不符的那笔付款，再拒绝订单（若核实无误则确认入账）。",
    "重复支付：保留第一笔，退还另一笔。",
    "在订单页“处理审核”中做出决定；决定后本告警自动关闭。",
  ],
};

export const ORDER_KINDS: Record<string, IncidentKind> = {
  needs_review: {
    title: titled(
      (d) => `Order ${order(d)} needs review: ${reviewReason(d.reason, false)}`,
      (d) => `订单 ${order(d)} 待审核：${reviewReason(d.reason, true)}`,
    ),
    runbook: REVIEW_RUNBOOK,
    actions: ["resolve_review", "refund_extra_payment", "sync_order"],
  },
  dispute: {
    title: titled(
      (d) =>
        `Order ${order(d)}: the buyer disputed the payment (chargeback ${field(d, "dispute_ref")}, ${field(d, "dispute_state")})`,
      (d) =>
        `订单 ${order(d)}：买家发起拒付（${field(d, "dispute_ref")}，${{ open: "处理中", lost: "已败诉", won: "已胜诉" }[field(d, "dispute_state")] ?? field(d, "dispute_state")}）`,
    ),
    runbook: {
      en: [
        "Answer the dispute at Stripe (Dashboard → Payments → Disputes) with evidence before its due date.",
        "With the default policy (claw_back) the order's credits were already taken back; with notify they were kept.",
        "When the bank decides, payguard applies it (won: the credits come back once) and resolves this incident.",
      ],
      zh: [
        "在 Stripe 后台（Payments → Disputes）于截止日前提交证据应诉。",
        "默认策略（claw_back）下该订单的积分已被收回；策略为 notify 时积分保留。",
        "银行裁决后 payguard 自动处理（胜诉则积分退回一次）并关闭本告警。",
      ],
    },
    actions: [],
  },
  subscription_invoice_ungranted: {
    title: titled(
      (d) =>
        `Invoice ${field(d, "invoice_ref")} of ${field(d, "subscription_ref")} was paid${amountSuffix(d, false)}, but nobody is credited: ${field(d, "reason")}`,
      (d) =>
        `订阅 ${field(d, "subscription_ref")} 的账单 ${field(d, "invoice_ref")} 已付款${amountSuffix(d, true)}，但无人获得积分：${field(d, "reason")}`,
    ),
    runbook: {
      en: [
        "A price that is no plan's: add its row to payguard.credit_plans (docs/subscriptions.md), or refund the invoice at Stripe.",
        "No user: the subscription was not created by payguard's checkout (its metadata names no user); grant by hand or refund.",
        "Then repair from references with the invoice id (Runbook → Fix missing orders): it grants once, and resolves nothing else.",
      ],
      zh: [
        "价格不属于任何套餐：在 payguard.credit_plans 中添加该价格（见 docs/subscriptions.md），或在 Stripe 退款。",
        "无用户：该订阅并非由 payguard 结账创建（元数据中无用户）；手动发放或退款。",
        "然后在运维手册“修复缺失订单”中输入账单号修复：只发放一次。",
      ],
    },
    actions: [],
  },
  refund_awaited: {
    title: titled(
      (d) =>
        `Order ${order(d)}: ${providerName(d.provider, false)} reports a refund that has not reached payguard yet`,
      (d) => `订单 ${order(d)}：${providerName(d.provider, true)} 显示已退款，payguard 尚未收到该退款`,
    ),
    runbook: {
      en: [
        "Sync the order: the provider's refund is fetched and its credits are taken back once.",
        "If the sync finds no refund, check it at the provider; the reconcile tick (Stripe) or the daily bill (WeChat Pay) settles it later.",
        "This incident resolves once the refund is recorded on the order.",
      ],
      zh: [
        "同步该订单：从渠道拉取退款，积分只扣回一次。",
        "若同步后仍无退款，请到渠道后台核实；Stripe 由定时对账、微信支付由每日账单稍后补记。",
        "退款记入订单后本告警自动关闭。",
      ],
    },
    actions: ["sync_order"],
  },
  paid_after_rejection: {
    title: titled(
      (d) => `Order ${order(d)} was rejected, then paid by ${field(d, "refund")}: refund that payment`,
      (d) => `订单 ${order(d)} 已拒绝，之后又收到付款 ${field(d, "refund")}：请退还这笔付款`,
    ),
    runbook: {
      en: [
        "The order stays rejected and nobody was credited for this payment.",
        "Refund the payment from the order page (Refund the extra payment).",
        "Resolve this incident once the refund shows on the order.",
      ],
      zh: [
        "订单保持拒绝状态，这笔付款没有给任何人加积分。",
        "在订单页用“退还多付款项”退还这笔付款。",
        "退款记入订单后关闭本告警。",
      ],
    },
    actions: ["refund_extra_payment"],
  },
  created_from_metadata: {
    title: titled(
      (d) => `Order ${order(d)} was never stored; rebuilt from payment metadata${amountSuffix(d, false)}`,
      (d) => `订单 ${order(d)} 未写入数据库，已按支付元数据重建${amountSuffix(d, true)}`,
    ),
    runbook: {
      en: [
        "Check the rebuilt order (user, package, amount) on its page: it was credited if the payment matched.",
        "Find out why the app did not store the order (checkout crashed, an old app version) and fix it.",
        "Resolve this incident.",
      ],
      zh: [
        "在订单页核对重建的订单（用户、套餐、金额）：付款匹配时已正常入账。",
        "查明应用为何没有写入订单（下单中断、旧版本应用）并修复。",
        "关闭本告警。",
      ],
    },
    actions: ["sync_order"],
  },
  late_payment: {
    title: titled(
      (d) =>
        `Order ${order(d)} was paid after it expired or failed; ${d.status === "needs_review" ? "in review" : "credited"}`,
      (d) =>
        `订单 ${order(d)} 在过期或失败后才支付；${d.status === "needs_review" ? "已转人工审核" : "已入账"}`,
    ),
    runbook: {
      en: [
        "Provider truth wins: the payment was credited, or put in review when its package sold out meanwhile.",
        "If the customer no longer wants it, refund it from the order page.",
        "Resolve this incident.",
      ],
      zh: [
        "以渠道为准：这笔付款已入账；若套餐已售罄则转入人工审核。",
        "如客户不再需要，可在订单页退款。",
        "关闭本告警。",
      ],
    },
    actions: ["sync_order"],
  },
  refund_other_payments: {
    title: titled(
      (d) => `Order ${order(d)} was paid more than once: refund ${list(d.refund)} (keep ${field(d, "keep")})`,
      (d) => `订单 ${order(d)} 被重复支付：请退还 ${list(d.refund)}（保留 ${field(d, "keep")}）`,
    ),
    runbook: {
      en: [
        "The kept payment is credited; the others were never credited.",
        "Refund each listed payment from the order page (Refund the extra payment).",
        "Resolve this incident once the refunds show on the order.",
      ],
      zh: [
        "保留的那笔已入账，其余付款从未入账。",
        "在订单页逐笔“退还多付款项”。",
        "退款记入订单后关闭本告警。",
      ],
    },
    actions: ["refund_extra_payment"],
  },
  app_hook_failed: {
    title: titled(
      (d) =>
        `Order ${order(d)}: the app hook payguard_app.on_settled failed; settlement rolled back, retrying`,
      (d) => `订单 ${order(d)}：应用钩子 payguard_app.on_settled 执行失败，结算已回滚，正在重试`,
    ),
    runbook: {
      en: [
        'Read the error below: it is the app\'s own exception (for example "no public.users row for user …").',
        "Until it is fixed nothing is credited, and an order rebuilt from metadata is not stored either.",
        "Fix the app's data or its function payguard_app.on_settled.",
        "Replay the failed event (or sync the order): the settlement runs again, credits once and resolves this incident.",
      ],
      zh: [
        "查看下方错误：这是应用自身抛出的异常（例如 “no public.users row for user …”）。",
        "修复前不会入账；按元数据重建的订单也不会写入。",
        "修复应用的数据或其函数 payguard_app.on_settled。",
        "重放失败的回调事件（或同步订单）：结算重新执行、只入账一次，本告警随之关闭。",
      ],
    },
    actions: ["replay_events", "sync_order"],
  },
  unknown_order: {
    title: titled(
      (d) => `Stripe event ${field(d, "event_id")} (${field(d, "type")}) matches no order`,
      (d) => `Stripe 事件 ${field(d, "event_id")}（${field(d, "type")}）找不到对应订单`,
    ),
    runbook: {
      en: [
        "Open the payment at Stripe and identify the buyer (e-mail, metadata).",
        "Repair from its PaymentIntent or Checkout Session reference (dry run first): a payment whose metadata names a user and package is credited once.",
        "Otherwise refund it at Stripe, then resolve this incident.",
      ],
      zh: [
        "在 Stripe 后台打开这笔付款，确认付款人（邮箱、元数据）。",
        "用 PaymentIntent 或 Checkout Session 单号修复（先试运行）：元数据含用户和套餐的付款只入账一次。",
        "否则在 Stripe 退款，然后关闭本告警。",
      ],
    },
    actions: ["repair_dry_run", "replay_events"],
  },
  refund_abnormal: {
    title: titled(
      (d) =>
        `WeChat Pay refund ${field(d, "refund_id")} for order ${order(d)} is abnormal${amountSuffix(d, false, "amount_minor", "CNY")}`,
      (d) =>
        `微信支付退款 ${field(d, "refund_id")}（订单 ${order(d)}）异常${amountSuffix(d, true, "amount_minor", "CNY")}`,
    ),
    runbook: {
      en: [
        "The refund did not reach the buyer (card cancelled, account frozen).",
        "Retry it in the WeChat Pay merchant platform (to another account or offline).",
        "Credits are taken back only when a refund succeeds: sync the order afterwards, then resolve.",
      ],
      zh: [
        "退款未能到达买家（银行卡注销、账户冻结等）。",
        "在微信支付商户平台重新发起（退至其他账户或线下退款）。",
        "退款成功后才会扣回积分：处理后同步订单，再关闭本告警。",
      ],
    },
    actions: ["sync_order"],
  },
  refund_closed: {
    title: titled(
      (d) =>
        `WeChat Pay refund ${field(d, "refund_id")} for order ${order(d)} was closed${amountSuffix(d, false, "amount_minor", "CNY")}`,
      (d) =>
        `微信支付退款 ${field(d, "refund_id")}（订单 ${order(d)}）已关闭${amountSuffix(d, true, "amount_minor", "CNY")}`,
    ),
    runbook: {
      en: [
        "WeChat Pay closed the refund: no money moved and no credits were taken back.",
        "If the buyer is still owed the money, start a new refund from the order page.",
        "Resolve this incident.",
      ],
      zh: ["微信支付关闭了该退款：资金和积分均未变动。", "如仍需退款，请在订单页重新发起。", "关闭本告警。"],
    },
    actions: ["sync_order"],
  },
  balance_repaired: {
    title: titled(
      (d) =>
        `Balance of user ${field(d, "user_id")} recomputed from the ledger: ${field(d, "before")} → ${field(d, "after")}`,
      (d) => `用户 ${field(d, "user_id")} 的余额已按流水重算：${field(d, "before")} → ${field(d, "after")}`,
    ),
    runbook: {
      en: [
        "A record only: the stored balance differed from the ledger and was set to the ledger's sum.",
        "If it happens again, look for writes to payguard.credit_balances outside payguard's functions.",
      ],
      zh: [
        "仅作记录：存储的余额与流水不一致，已按流水合计重置。",
        "若再次出现，请排查绕过 payguard 函数直接写 payguard.credit_balances 的操作。",
      ],
    },
    actions: [],
  },
  /** Raised by apply_payment as it holds the payment, and found again by the hourly audit (same key). */
  audit_held_payment: {
    title: titled(
      (d) =>
        `Payment ${field(d, "payment_ref")}${amountSuffix(d, false)} is held: order ${field(d, "order_id", "(not named)")} is not stored, nobody is credited yet`,
      (d) =>
        `付款 ${field(d, "payment_ref")}${amountSuffix(d, true)}已暂存：订单 ${field(d, "order_id", "（未注明）")} 不存在，尚未给任何人入账`,
    ),
    runbook: {
      en: [
        "The payment's metadata cannot rebuild its order (no user or package).",
        "If the app can still write the order row (same id), the held payment applies at once.",
        "Or repair from the payment reference (dry run first), or refund it at the provider.",
        "The audit resolves this once nothing is held.",
      ],
      zh: [
        "这笔付款的元数据不足以重建订单（缺少用户或套餐）。",
        "若应用补写该订单（同一订单号），暂存的付款会立即入账。",
        "也可用付款单号修复（先试运行），或在渠道退款。",
        "不再有暂存付款后，审计会自动关闭本告警。",
      ],
    },
    actions: ["repair_dry_run"],
  },
};
