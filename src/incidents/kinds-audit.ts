/**
 * Incident kinds of the hourly ledger audit (`audit:<finding>:<subject>`, src/reconcile/audit.ts over
 * payguard.audit_ledger) and of the daily WeChat Pay bill (`bill_<finding>:<order>…`,
 * src/reconcile/wechat-bill.ts). The audit's subject is in `subject`; the bill's finding keeps its
 * camelCase fields (orderId, transactionId, amountMinor, …) and `bill_date`.
 */
import type { IncidentKind } from "./catalogue.ts";
import { field, money, orderStatus, providerName, titled } from "./text.ts";

/** WeChat Pay bills are in yuan; their findings carry minor units without a currency. */
const CNY = "CNY";
const subject = (d: Record<string, unknown>) => field(d, "subject");
/** `failed_inbox_event` and `held_fact_stale` subjects start with the provider. */
const subjectProvider = (d: Record<string, unknown>, zh: boolean) =>
  providerName(subject(d).split(":")[0], zh);
const subjectRef = (d: Record<string, unknown>) => subject(d).split(":").slice(1).join(":") || "?";

const AUDIT_KINDS: Record<string, IncidentKind> = {
  audit_balance_mismatch: {
    title: titled(
      (d) =>
        `Ledger audit: user ${subject(d)} has a balance of ${field(d, "balance")} credits, the ledger sums to ${field(d, "ledger_sum")}`,
      (d) =>
        `账本审计：用户 ${subject(d)} 余额 ${field(d, "balance")}，流水合计 ${field(d, "ledger_sum")}，两者不一致`,
    ),
    runbook: {
      en: [
        "The ledger is the truth; the stored balance drifted from it.",
        "Open the user's orders (Orders, filter by user id) and use Recompute balance on any of them.",
        "The next hourly audit resolves this incident.",
      ],
      zh: [
        "以流水为准，存储的余额与之不符。",
        "打开该用户的订单（订单列表按用户 ID 筛选），在任一订单页执行“重算余额”。",
        "下一次整点审计会自动关闭本告警。",
      ],
    },
    actions: [],
  },
  audit_fulfilled_without_grant: {
    title: titled(
      (d) =>
        `Ledger audit: order ${subject(d)} is ${orderStatus(d.status, false)} but its credits were never granted`,
      (d) => `账本审计：订单 ${subject(d)}（${orderStatus(d.status, true)}）从未发放积分`,
    ),
    runbook: {
      en: [
        "The audit grants the missing credits itself in the same run (once, keyed by the order).",
        "If this stays open, use Grant missing credits on the order page and read its timeline.",
      ],
      zh: [
        "审计会在同一次运行中自动补发缺失的积分（按订单只补一次）。",
        "若告警仍未关闭，请在订单页执行“补发积分”并查看时间线。",
      ],
    },
    actions: [],
  },
  audit_grant_without_fulfilled_order: {
    title: titled(
      (d) =>
        `Ledger audit: order ${subject(d)} (${orderStatus(d.status, false)}) holds a grant of ${field(d, "credits")} credits`,
      (d) =>
        `账本审计：订单 ${subject(d)}（${orderStatus(d.status, true)}）未完成却已发放 ${field(d, "credits")} 积分`,
    ),
    runbook: {
      en: [
        "Credits were granted for an order that is not paid in payguard's records.",
        "Sync the order: if the provider says it is paid, it becomes fulfilled.",
        "If it is not paid, take the credits back through a review (reject) and find what granted them.",
      ],
      zh: [
        "按 payguard 记录该订单未支付，却已发放积分。",
        "同步订单：渠道确认已支付则转为已完成。",
        "若确未支付，通过审核拒绝收回积分，并排查积分来源。",
      ],
    },
    actions: ["sync_order"],
  },
  audit_pending_past_expiry: {
    title: titled(
      (d) =>
        `Ledger audit: order ${subject(d)} is still pending past its expiry (${field(d, "check_attempts")} checks)`,
      (d) => `账本审计：订单 ${subject(d)} 已过期仍为待支付（已查询 ${field(d, "check_attempts")} 次）`,
    ),
    runbook: {
      en: [
        "Sync the order: the provider's answer settles or expires it.",
        "If the provider cannot be reached, check the reconcile job's recent runs (Jobs).",
      ],
      zh: ["同步订单：按渠道的答复入账或关闭。", "若无法连接渠道，请在“任务”页查看对账任务的最近运行。"],
    },
    actions: ["sync_order"],
  },
  audit_needs_review: {
    title: titled(
      (d) => `Ledger audit: order ${subject(d)} is still waiting for review`,
      (d) => `账本审计：订单 ${subject(d)} 仍在等待人工审核`,
    ),
    runbook: {
      en: [
        "The same fact as the order's needs_review incident: decide the review on the order page.",
        "The audit resolves this once the order has left review.",
      ],
      zh: ["与该订单的“待审核”告警是同一件事：请在订单页处理审核。", "订单结束审核后审计会自动关闭本告警。"],
    },
    actions: ["resolve_review", "refund_extra_payment"],
  },
  audit_failed_inbox_event: {
    title: titled(
      (d) =>
        `Ledger audit: ${subjectProvider(d, false)} event ${subjectRef(d)} (${field(d, "type")}) failed after ${field(d, "attempts")} attempts`,
      (d) =>
        `账本审计：${subjectProvider(d, true)} 事件 ${subjectRef(d)}（${field(d, "type")}）处理失败，已尝试 ${field(d, "attempts")} 次`,
    ),
    runbook: {
      en: [
        "Read the event's error below (a failing app hook, an order that cannot be found, the database).",
        "Fix the cause, then replay the failed events from the runbook page (dry run first).",
        "The audit resolves this once the event is processed.",
      ],
      zh: [
        "查看下方该回调事件的错误（应用钩子失败、找不到订单、数据库故障等）。",
        "修复原因后，在运维手册页重放失败的回调事件（先试运行）。",
        "事件处理完成后审计会自动关闭本告警。",
      ],
    },
    actions: ["replay_events", "sync_order"],
  },
  audit_held_fact_stale: {
    title: titled(
      (d) =>
        `Ledger audit: a ${subject(d).split(":")[1] ?? "fact"} from ${subjectProvider(d, false)} has waited over 6 h for payment ${field(d, "payment_ref")}`,
      (d) =>
        `账本审计：${subjectProvider(d, true)} 的${subject(d).split(":")[1] === "dispute" ? "拒付" : "退款"}已等待付款 ${field(d, "payment_ref")} 超过 6 小时`,
    ),
    runbook: {
      en: [
        "A refund or dispute arrived for a payment payguard has not recorded yet; it is held, not lost.",
        "Sync the order, or repair from the payment reference, so the payment is recorded: the held fact then applies once.",
      ],
      zh: [
        "退款或拒付先于其付款到达，payguard 尚未记录该付款；它已暂存，不会丢失。",
        "同步订单或用付款单号修复，使付款入库：暂存的退款/拒付随即只应用一次。",
      ],
    },
    actions: ["sync_order", "repair_dry_run"],
  },
  audit_refund_failure_unapplied: {
    title: titled(
      (d) =>
        `Ledger audit: refund ${field(d, "refund_ref")} of order ${field(d, "order_id")} failed but still counts`,
      (d) => `账本审计：订单 ${field(d, "order_id")} 的退款 ${field(d, "refund_ref")} 已失败但仍计入`,
    ),
    runbook: {
      en: [
        "The audit repairs this in the same run: the refund stops counting and its clawback is given back once.",
        "If it stays open, read the order's refunds and ledger.",
      ],
      zh: [
        "审计会在同一次运行中修复：该退款不再计入，扣回的积分退还一次。",
        "若告警仍未关闭，请查看订单的退款和流水。",
      ],
    },
    actions: [],
  },
};

const bill = (d: Record<string, unknown>) => field(d, "bill_date");
const billOrder = (d: Record<string, unknown>) => field(d, "orderId");

const BILL_KINDS: Record<string, IncidentKind> = {
  bill_missing_here: {
    title: titled(
      (d) =>
        `WeChat Pay bill ${bill(d)}: payment ${field(d, "transactionId")} (${money(d.amountMinor, CNY)}) for order ${billOrder(d)} is not credited here`,
      (d) =>
        `微信支付账单 ${bill(d)}：订单 ${billOrder(d)} 的付款 ${field(d, "transactionId")}（${money(d.amountMinor, CNY)}）在 payguard 未入账`,
    ),
    runbook: {
      en: [
        "WeChat Pay received this payment but payguard has no paid order for it.",
        "Repair from the transaction id (dry run first): the payment is credited once.",
        "Resolve this incident after the repair.",
      ],
      zh: [
        "微信支付已收款，但 payguard 没有对应的已支付订单。",
        "用交易单号修复（先试运行）：只入账一次。",
        "修复后关闭本告警。",
      ],
    },
    actions: ["repair_dry_run", "sync_order"],
  },
  bill_missing_there: {
    title: titled(
      (d) => `WeChat Pay bill ${bill(d)}: order ${billOrder(d)} is paid here but missing from the bill`,
      (d) => `微信支付账单 ${bill(d)}：订单 ${billOrder(d)} 在 payguard 已支付，账单中却没有`,
    ),
    runbook: {
      en: [
        "Sync the order: WeChat Pay's answer is the truth.",
        "If WeChat Pay says it was never paid, the credits were granted wrongly: put the order in review and take them back.",
        "Resolve this incident.",
      ],
      zh: [
        "同步订单：以微信支付的答复为准。",
        "若微信支付确认未支付，说明积分发放有误：转入审核并收回积分。",
        "关闭本告警。",
      ],
    },
    actions: ["sync_order"],
  },
  bill_amount_differs: {
    title: titled(
      (d) =>
        `WeChat Pay bill ${bill(d)}: order ${billOrder(d)} paid ${money(d.billMinor, CNY)} in the bill, ${money(d.oursMinor, CNY)} here`,
      (d) =>
        `微信支付账单 ${bill(d)}：订单 ${billOrder(d)} 账单金额 ${money(d.billMinor, CNY)}，payguard 记录 ${money(d.oursMinor, CNY)}`,
    ),
    runbook: {
      en: [
        "Sync the order and compare its payment with the bill row.",
        "If the buyer paid a different amount, review the order: refund the payment or fulfil it.",
        "Resolve this incident.",
      ],
      zh: ["同步订单，核对其付款与账单行。", "若实付金额不同，请审核订单：退款或确认入账。", "关闭本告警。"],
    },
    actions: ["sync_order", "resolve_review"],
  },
  bill_refund_missing_here: {
    title: titled(
      (d) =>
        `WeChat Pay bill ${bill(d)}: refund ${field(d, "refundId", field(d, "outRefundNo"))} (${money(d.refundMinor, CNY)}) of order ${billOrder(d)} is not recorded here`,
      (d) =>
        `微信支付账单 ${bill(d)}：订单 ${billOrder(d)} 的退款 ${field(d, "refundId", field(d, "outRefundNo"))}（${money(d.refundMinor, CNY)}）在 payguard 未记录`,
    ),
    runbook: {
      en: [
        "payguard tried to settle this refund from the bill and could not (the reason is in the detail).",
        "Sync the order; if WeChat Pay does not report the refund as SUCCESS, check it in the merchant platform.",
        "A later bill run that settles it resolves this incident.",
      ],
      zh: [
        "payguard 已尝试按账单补记该退款但未成功（原因见详情）。",
        "同步订单；若微信支付未显示退款成功，请在商户平台核实。",
        "之后的账单任务补记成功后会自动关闭本告警。",
      ],
    },
    actions: ["sync_order"],
  },
};

export const AUDIT_AND_BILL_KINDS: Record<string, IncidentKind> = { ...AUDIT_KINDS, ...BILL_KINDS };
