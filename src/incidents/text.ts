/**
 * Small text helpers for the incident catalogue: reading detail fields that may be missing, money in major
 * units, and the Chinese for the review reasons the SQL writes in English, so a Chinese title never carries
 * an English sentence. Pure.
 */

export type Detail = Record<string, unknown>;

/** Currencies whose minor unit is the major one (no decimals). */
const ZERO_DECIMAL_CURRENCIES = new Set(["JPY", "KRW", "VND", "CLP"]);

/** A detail field as text; `fallback` when absent or empty. */
export function field(detail: Detail, name: string, fallback = "?"): string {
  const value = detail[name];
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return fallback;
}

/** "19.99 USD" from integer minor units; empty when the amount is not a number. */
export function money(minor: unknown, currency: unknown): string {
  const amount = typeof minor === "number" ? minor : typeof minor === "string" ? Number(minor) : Number.NaN;
  if (!Number.isFinite(amount)) return "";
  const code = typeof currency === "string" && currency ? currency.toUpperCase() : "";
  const major = ZERO_DECIMAL_CURRENCIES.has(code) ? amount.toFixed(0) : (amount / 100).toFixed(2);
  return code ? `${major} ${code}` : major;
}

/** " (19.99 USD)" / "（19.99 USD）" when the detail carries an amount, else "". */
export function amountSuffix(
  detail: Detail,
  zh: boolean,
  minorField = "amount_minor",
  currency?: string,
): string {
  const text = money(detail[minorField], currency ?? detail.currency);
  if (!text) return "";
  return zh ? `（${text}）` : ` (${text})`;
}

type ReasonRule = [pattern: RegExp, render: (m: RegExpExecArray, zh: boolean) => string];

const amountOf = (m: RegExpExecArray, amount: number, currency: number) => money(m[amount], m[currency]);

/** Review reasons written by the settlement functions (supabase/migrations), in the order they are tried. */
const REVIEW_REASONS: ReasonRule[] = [
  [
    /^payment (\d+) \(\+(\d+) discount\) (\w+) via (\w+) does not match order (\d+) (\w+) via (\w+)$/,
    (m, zh) =>
      zh
        ? `付款 ${amountOf(m, 1, 3)}（优惠 ${amountOf(m, 2, 3)}，${providerName(m[4], true)}）与订单 ${amountOf(m, 5, 6)}（${providerName(m[7], true)}）不符`
        : `payment ${amountOf(m, 1, 3)} (+${amountOf(m, 2, 3)} discount) via ${providerName(m[4], false)} does not match the order's ${amountOf(m, 5, 6)} via ${providerName(m[7], false)}`,
  ],
  [
    /^payment names order (\S+) but belongs to order (\S+)$/,
    (m, zh) => (zh ? `付款指向订单 ${m[1]}，实际属于订单 ${m[2]}` : m[0]),
  ],
  [
    /^payment names user (\S+) but order (\S+) belongs to another user$/,
    (m, zh) => (zh ? `付款指向用户 ${m[1]}，但订单 ${m[2]} 属于其他用户` : m[0]),
  ],
  [
    /^payment came through (\S+) but order (\S+) was opened as (\S+)$/,
    (m, zh) => (zh ? `付款来自 ${m[1]}，但订单 ${m[2]} 创建时为 ${m[3]}` : m[0]),
  ],
  [
    /^paid twice: refund (\S+) \(keep (\S+)\)$/,
    (m, zh) => (zh ? `重复支付：请退款 ${m[1]}（保留 ${m[2]}）` : m[0]),
  ],
  [
    /^refunds of (\d+) (\w+) exceed the (\d+) paid$/,
    (m, zh) =>
      zh
        ? `退款合计 ${amountOf(m, 1, 2)} 超过实付 ${amountOf(m, 3, 2)}`
        : `refunds of ${amountOf(m, 1, 2)} exceed the ${amountOf(m, 3, 2)} paid`,
  ],
  [/^refund (\S+) exceeds what was paid$/, (m, zh) => (zh ? `退款 ${m[1]} 超过实付金额` : m[0])],
  [
    /^refund (\S+) is not in the order's currency (\w+)$/,
    (m, zh) => (zh ? `退款 ${m[1]} 的币种不是订单币种 ${m[2]}` : m[0]),
  ],
  [
    /^paid after it expired, but package (\S+) sold out meanwhile: grant or refund (\S+)$/,
    (m, zh) => (zh ? `订单过期后才支付，套餐 ${m[1]} 已售罄：请补发或退款 ${m[2]}` : m[0]),
  ],
  [
    /^rebuilt from metadata for inactive package (\S+)$/,
    (m, zh) => (zh ? `按支付元数据重建，但套餐 ${m[1]} 已下架` : m[0]),
  ],
  [
    /^rebuilt from metadata beyond the stock of package (\S+)$/,
    (m, zh) => (zh ? `按支付元数据重建，但超出套餐 ${m[1]} 的库存` : m[0]),
  ],
  [/^notification for another merchant or app$/, (m, zh) => (zh ? "通知属于其他商户或应用" : m[0])],
  [/^refund notification for another merchant$/, (m, zh) => (zh ? "退款通知属于其他商户" : m[0])],
];

/**
 * A review reason in the language. In English an unknown reason (written by newer SQL than this table) is
 * shown as written; in Chinese it stays out of the title (the page shows it under the cause).
 */
/** A review reason the SQL writes, in the language; null for any other text (an operator's own words). */
export function knownReviewReason(reason: unknown, zh: boolean): string | null {
  const text = typeof reason === "string" ? reason : "";
  for (const [pattern, render] of REVIEW_REASONS) {
    const match = pattern.exec(text);
    if (match) return render(match, zh);
  }
  return null;
}

export function reviewReason(reason: unknown, zh: boolean): string {
  const known = knownReviewReason(reason, zh);
  if (known !== null) return known;
  if (zh) return "原因见详情";
  return (typeof reason === "string" && reason) || "see the detail";
}

/** The provider's name in the language (WeChat Pay / 微信支付). */
export function providerName(provider: unknown, zh: boolean): string {
  if (provider === "wechatpay") return zh ? "微信支付" : "WeChat Pay";
  if (provider === "stripe") return "Stripe";
  if (typeof provider === "string" && provider) return provider;
  return zh ? "支付渠道" : "the provider";
}

/** A title function from one template per language. */
export const titled =
  (en: (detail: Detail) => string, zh: (detail: Detail) => string) =>
  (detail: Detail, lang: "en" | "zh"): string =>
    lang === "zh" ? zh(detail) : en(detail);

const ORDER_STATUS_ZH: Record<string, string> = {
  pending: "待支付",
  fulfilled: "已完成",
  partially_refunded: "部分退款",
  refunded: "已退款",
  expired: "已过期",
  failed: "已失败",
  needs_review: "待审核",
};

/** An order status as a title says it ("partially refunded" / "部分退款"). */
export function orderStatus(status: unknown, zh: boolean): string {
  const code = typeof status === "string" && status ? status : "?";
  return zh ? (ORDER_STATUS_ZH[code] ?? code) : code.replaceAll("_", " ");
}
