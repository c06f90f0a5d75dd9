/**
 * Incident kinds about callbacks reaching payguard: the hourly callback health checks
 * (`callback_health:<check>`, src/reconcile/health.ts; `wechatpay_cert_expiry:<serial>`,
 * src/providers/wechatpay/cert-expiry.ts) and the thresholds of the 5-minute tick
 * (`threshold:<check>`, src/ops/thresholds.ts).
 */
import type { IncidentKind } from "./catalogue.ts";
import { field, providerName, titled } from "./text.ts";

type Detail = Record<string, unknown>;

const percent = (value: unknown) => (typeof value === "number" ? `${Math.round(value * 1000) / 10}%` : "?");
const minutes = (seconds: unknown) => (typeof seconds === "number" ? Math.round(seconds / 60) : "?");

const firstProblemUrl = (d: Detail) => {
  const problems = Array.isArray(d.problems) ? (d.problems as Detail[]) : [];
  return problems[0] ? field(problems[0], "url") : "?";
};
const ENDPOINT_STATE_ZH: Record<string, string> = {
  "no endpoint": "未配置端点",
  "endpoint disabled": "端点已停用",
  "events missing": "缺少订阅事件",
};
const CALLBACK_FIX = {
  en: "Replay the events that failed meanwhile (runbook page); paid orders are also settled by the 5-minute reconcile.",
  zh: "修复后在运维手册页重放期间失败的回调事件；已支付订单也会由 5 分钟对账补记。",
};

const HEALTH_KINDS: Record<string, IncidentKind> = {
  callback_url_not_public: {
    title: titled(
      (d) => `Providers cannot reach payguard: ${firstProblemUrl(d)} is not a public https URL`,
      (d) => `支付渠道无法访问 payguard：${firstProblemUrl(d)} 不是公网 https 地址`,
    ),
    runbook: {
      en: [
        "Set PUBLIC_BASE_URL to payguard's public https address (not localhost or a private address) and redeploy.",
        CALLBACK_FIX.en,
      ],
      zh: [
        "将 PUBLIC_BASE_URL 设为 payguard 的公网 https 地址（不能是 localhost 或内网地址）并重新部署。",
        CALLBACK_FIX.zh,
      ],
    },
    actions: ["replay_events"],
  },
  callback_url_unreachable: {
    title: titled(
      (d) => `Callback URL ${field(d, "url")} is not reachable as this deployment`,
      (d) => `回调地址 ${field(d, "url")} 无法访问到本部署`,
    ),
    runbook: {
      en: [
        "Open the URL from outside: DNS, routes and a firewall or access rule in front of the worker are the usual causes.",
        "A wrong proof means another deployment answers this URL: fix the route.",
        CALLBACK_FIX.en,
      ],
      zh: [
        "从外网访问该地址：常见原因是 DNS、路由或 Worker 前的防火墙/访问规则。",
        "若提示证明不符，说明该地址由另一个部署应答：请修正路由。",
        CALLBACK_FIX.zh,
      ],
    },
    actions: ["replay_events"],
  },
  stripe_endpoint_misconfigured: {
    title: titled(
      (d) => `Stripe webhook endpoint ${field(d, "url")}: ${field(d, "state")}`,
      (d) => `Stripe Webhook 端点 ${field(d, "url")}：${ENDPOINT_STATE_ZH[field(d, "state")] ?? "配置有误"}`,
    ),
    runbook: {
      en: [
        "In the Stripe Dashboard (Developers → Webhooks), create or enable the endpoint at this URL.",
        "Subscribe it to the missing event types listed in the detail.",
        CALLBACK_FIX.en,
      ],
      zh: [
        "在 Stripe 后台（Developers → Webhooks）为该地址创建或启用端点。",
        "订阅详情中列出的缺失事件类型。",
        CALLBACK_FIX.zh,
      ],
    },
    actions: ["replay_events"],
  },
  stripe_deliveries_failing: {
    title: titled(
      (d) =>
        `Stripe webhook deliveries are failing: ${field(d, "count")}${d.more ? "+" : ""} events in the last hour`,
      (d) => `Stripe Webhook 投递失败：最近一小时 ${field(d, "count")}${d.more ? "+" : ""} 个事件`,
    ),
    runbook: {
      en: [
        "Open the first failing event in the Stripe Dashboard and read the response payguard gave.",
        "Fix the cause (signing secret, a 5xx from the database, the URL), then replay the failed events.",
      ],
      zh: [
        "在 Stripe 后台打开第一个失败的事件，查看 payguard 的响应。",
        "修复原因（签名密钥、数据库 5xx、地址）后重放失败的事件。",
      ],
    },
    actions: ["replay_events"],
  },
  wechat_notifications_missing: {
    title: titled(
      (d) =>
        `WeChat Pay notifications are not arriving: ${field(d, "count")} paid orders found only by re-query, first ${field(d, "first_order_id")}`,
      (d) =>
        `微信支付通知未到达：${field(d, "count")} 笔已支付订单仅靠主动查询发现，首笔 ${field(d, "first_order_id")}`,
    ),
    runbook: {
      en: [
        "Check notify_url in the WeChat Pay merchant platform and that it reaches /webhooks/wechatpay over public https.",
        "Check the platform certificate and APIv3 key: notifications payguard cannot verify are refused.",
        "Paid orders are still credited by re-query meanwhile.",
      ],
      zh: [
        "在微信支付商户平台检查 notify_url，并确认可通过公网 https 访问 /webhooks/wechatpay。",
        "检查平台证书和 APIv3 密钥：无法验签的通知会被拒绝。",
        "期间已支付订单仍会通过主动查询入账。",
      ],
    },
    actions: [],
  },
  wechatpay_cert_expiry: {
    title: titled(
      (d) =>
        d.state === "expired"
          ? `WeChat Pay platform certificate ${field(d, "serial")} expired on ${field(d, "expires_on")}: WeChat Pay signatures can no longer be verified`
          : `WeChat Pay platform certificate ${field(d, "serial")} expires on ${field(d, "expires_on")} (in ${field(d, "days_left")} days)`,
      (d) =>
        d.state === "expired"
          ? `微信支付平台证书 ${field(d, "serial")} 已于 ${field(d, "expires_on")} 过期：无法再验证微信支付的签名`
          : `微信支付平台证书 ${field(d, "serial")} 将于 ${field(d, "expires_on")} 过期（剩余 ${field(d, "days_left")} 天）`,
    ),
    runbook: {
      en: [
        "Get the new platform certificate (the certificate download API GET /v3/certificates, or WeChat's certificate tool): WeChat issues it about 10 days before the old one expires and signs with both in the last 5 days.",
        "Set both PEM blocks, new and old, in WECHATPAY_PLATFORM_CERTS (wrangler secret put WECHATPAY_PLATFORM_CERTS); remove the old one once it has expired.",
        "Or move to the WeChat Pay public key, which does not expire: set WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY, keep the certificate until WeChat signs with the key alone, then remove it.",
        "The incident resolves at the next hourly check once the certificate configured last is valid for more than 30 days; meanwhile reconcile still credits paid orders by query.",
      ],
      zh: [
        "获取新的平台证书（下载平台证书接口 GET /v3/certificates 或微信支付证书工具）：微信支付在旧证书过期前约 10 天生成新证书，过期前 5 天起新旧证书同时用于签名。",
        "将新旧两份证书的 PEM 一并写入 WECHATPAY_PLATFORM_CERTS（wrangler secret put WECHATPAY_PLATFORM_CERTS）；旧证书过期后再将其删除。",
        "或改用不会过期的微信支付公钥：设置 WECHATPAY_PUBLIC_KEY_ID 和 WECHATPAY_PUBLIC_KEY，保留证书直到微信支付只用公钥签名，再删除证书。",
        "最后到期的证书有效期超过 30 天后，下一次每小时检查会自动关闭此告警；期间对账仍会通过主动查询为已支付订单入账。",
      ],
    },
    actions: [],
  },
};

const THRESHOLD_KINDS: Record<string, IncidentKind> = {
  callback_failure_rate: {
    title: titled(
      (d) =>
        `${providerName(d.provider, false)} callbacks failing: ${field(d, "failed")} of ${field(d, "deliveries")} (${percent(d.rate)}), above ${percent(d.threshold)}`,
      (d) =>
        `${providerName(d.provider, true)} 回调失败率过高：${field(d, "deliveries")} 次中失败 ${field(d, "failed")} 次（${percent(d.rate)}），阈值 ${percent(d.threshold)}`,
    ),
    runbook: {
      en: [
        "Open the failed provider events (Jobs, or the runbook's replay filter) and read their errors.",
        "Fix the common cause, then replay the failed events.",
      ],
      zh: ["查看失败的回调事件（任务页或运维手册的重放筛选）及其错误。", "修复共同原因后重放失败的事件。"],
    },
    actions: ["replay_events"],
  },
  orders_out_of_sync: {
    title: titled(
      (d) =>
        `${field(d, "orders_affected")} paid orders were not credited by their callback (longest wait ${minutes(d.oldest_lag_s)} min)`,
      (d) =>
        `${field(d, "orders_affected")} 笔已支付订单未通过回调入账（最长等待 ${minutes(d.oldest_lag_s)} 分钟）`,
    ),
    runbook: {
      en: [
        "The callback path is failing; reconcile credits these orders.",
        "Check the callback health incidents and the failed provider events, fix the cause and replay them.",
      ],
      zh: ["回调链路异常，这些订单由对账补记。", "查看回调健康告警和失败的回调事件，修复原因后重放。"],
    },
    actions: ["replay_events"],
  },
  payment_success_rate: {
    title: titled(
      (d) =>
        `Payment success rate ${percent(d.rate)} (${field(d, "paid")} of ${field(d, "created")} orders), below ${percent(d.threshold)}`,
      (d) =>
        `支付成功率 ${percent(d.rate)}（${field(d, "created")} 笔订单中 ${field(d, "paid")} 笔已付），低于 ${percent(d.threshold)}`,
    ),
    runbook: {
      en: [
        "Try a checkout yourself: the payment page, the provider's status page, a new price or package.",
        "Look for provider errors at checkout in the logs (session creation, prepay).",
      ],
      zh: [
        "亲自走一遍下单：支付页面、渠道状态页、新价格或套餐是否有问题。",
        "在日志中查找下单时的渠道错误（创建会话、预下单）。",
      ],
    },
    actions: [],
  },
  reconcile_repairs: {
    title: titled(
      (d) =>
        `Reconciliation settled ${field(d, "orders_affected")} orders in one tick (more than ${field(d, "threshold")}): callbacks are probably broken`,
      (d) =>
        `单次对账补记了 ${field(d, "orders_affected")} 笔订单（超过 ${field(d, "threshold")}）：回调很可能已失效`,
    ),
    runbook: {
      en: [
        "Money is safe (reconcile credited them), but callbacks are not arriving or failing.",
        "Check the callback health incidents and the failed provider events, fix the cause and replay them.",
      ],
      zh: [
        "资金无碍（对账已补记），但回调未到达或处理失败。",
        "查看回调健康告警和失败的回调事件，修复原因后重放。",
      ],
    },
    actions: ["replay_events"],
  },
};

export const CALLBACK_KINDS: Record<string, IncidentKind> = { ...HEALTH_KINDS, ...THRESHOLD_KINDS };
