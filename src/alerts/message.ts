/**
 * Pure text for alert messages: what happened, who and how much is affected, what to do, and where to look,
 * in English or Chinese. Channel payloads (src/alerts/channels/*) only wrap these lines.
 */

import type { Notice, Severity } from "./notice.ts";
import type { AlertLanguage } from "./settings.ts";

/** Markdown differences between channels: Slack mrkdwn vs DingTalk / WeCom markdown. */
export interface Markup {
  bold(text: string): string;
  link(url: string, label: string): string;
}

export const MARKDOWN: Markup = {
  bold: (text) => `**${text}**`,
  link: (url, label) => `[${label}](${url})`,
};

const DIGEST_SUMMARY_CHARS_MAX = 80;
const ZERO_DECIMAL_CURRENCIES = new Set(["JPY", "KRW", "VND", "CLP"]);

const WORDS = {
  en: {
    severity: { info: "info", warning: "warning", critical: "critical" },
    event: { opened: "New", worsened: "Worse", reminder: "Still open", resolved: "Resolved" },
    impact: "Affected",
    orders: "orders",
    users: "users",
    amount: "amount",
    unknown: "not known yet",
    todo: "What to do",
    open: "Open in dashboard",
    lasted: (duration: string, fires: number) => `Lasted ${duration}, fired ${fires} time(s).`,
    openFor: (duration: string, fires: number) => `Open for ${duration}, fired ${fires} time(s).`,
    digest: (count: number) => `payguard: ${count} incident update(s)`,
  },
  zh: {
    severity: { info: "提示", warning: "警告", critical: "严重" },
    event: { opened: "新事件", worsened: "升级", reminder: "仍未处理", resolved: "已恢复" },
    impact: "影响",
    orders: "订单",
    users: "用户",
    amount: "金额",
    unknown: "暂不明确",
    todo: "处理",
    open: "在控制台查看",
    lasted: (duration: string, fires: number) => `持续 ${duration}，共触发 ${fires} 次。`,
    openFor: (duration: string, fires: number) => `已持续 ${duration}，共触发 ${fires} 次。`,
    digest: (count: number) => `payguard：${count} 条事件更新`,
  },
} as const;

const ACTIONS: Record<string, Record<AlertLanguage, string>> = {
  unknown_order: {
    en: "Find the payment at the provider, match it to a user and credit or refund it.",
    zh: "在支付渠道后台找到这笔付款，核对到用户后补发或退款。",
  },
  balance_mismatch: {
    en: "Check the user's ledger, then run the balance repair from the dashboard.",
    zh: "核对该用户的流水，然后在控制台执行余额修复。",
  },
  needs_review: {
    en: "Review the order in the dashboard and settle or refund it.",
    zh: "在控制台复核该订单，确认入账或退款。",
  },
};

const DEFAULT_ACTION: Record<AlertLanguage, string> = {
  en: "Open the incident in the dashboard and follow its runbook.",
  zh: "在控制台打开该事件，按预案处理。",
};

const SEVERITY_ICON: Record<Severity, string> = { info: "🔵", warning: "🟠", critical: "🔴" };

export function incidentUrl(publicBaseUrl: string, key: string): string {
  return `${publicBaseUrl}/admin/incidents/${encodeURIComponent(key)}`;
}

export function formatDuration(ms: number, language: AlertLanguage): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (language === "zh") return hours > 0 ? `${hours} 小时 ${rest} 分钟` : `${minutes} 分钟`;
  return hours > 0 ? `${hours} h ${rest} min` : `${minutes} min`;
}

export function formatMoney(amountMinor: number, currency: string): string {
  const code = currency.toUpperCase();
  const digits = ZERO_DECIMAL_CURRENCIES.has(code) ? 0 : 2;
  return `${(amountMinor / 10 ** digits).toFixed(digits)} ${code}`;
}

const count = (detail: Record<string, unknown>, many: string, one: string): number | null => {
  const value = detail[many];
  if (typeof value === "number" && Number.isInteger(value)) return value;
  return typeof detail[one] === "string" ? 1 : null;
};

/** Orders / users / money from the incident detail, when the source put them there. */
export function impactLine(detail: Record<string, unknown>, language: AlertLanguage): string {
  const words = WORDS[language];
  const parts: string[] = [];
  const orders = count(detail, "orders_affected", "order_id");
  if (orders !== null) parts.push(`${words.orders} ${orders}`);
  const users = count(detail, "users_affected", "user_id");
  if (users !== null) parts.push(`${words.users} ${users}`);
  const amount = detail.amount_minor;
  if (typeof amount === "number" && typeof detail.currency === "string")
    parts.push(`${words.amount} ${formatMoney(amount, detail.currency)}`);
  return `${words.impact}: ${parts.length > 0 ? parts.join(" · ") : words.unknown}`;
}

export function headline(notice: Notice, language: AlertLanguage): string {
  const words = WORDS[language];
  return `${SEVERITY_ICON[notice.severity]} [${words.severity[notice.severity]}] ${words.event[notice.event]}: ${notice.summary}`;
}

function historyLine(notice: Notice, language: AlertLanguage): string {
  const duration = formatDuration(notice.atMs - notice.openedAtMs, language);
  const words = WORDS[language];
  return notice.event === "resolved"
    ? words.lasted(duration, notice.fires)
    : words.openFor(duration, notice.fires);
}

/** One incident, in full. */
export function noticeLines(notice: Notice, language: AlertLanguage, base: string, markup: Markup): string[] {
  const words = WORDS[language];
  const action = (ACTIONS[notice.kind] ?? DEFAULT_ACTION)[language];
  const lines = [markup.bold(headline(notice, language)), `- ${impactLine(notice.detail, language)}`];
  if (notice.event !== "resolved") lines.push(`- ${words.todo}: ${action}`);
  lines.push(`- ${historyLine(notice, language)}`);
  lines.push(`- ${markup.link(incidentUrl(base, notice.key), words.open)} (${notice.key})`);
  return lines;
}

const shorten = (text: string): string =>
  text.length > DIGEST_SUMMARY_CHARS_MAX ? `${text.slice(0, DIGEST_SUMMARY_CHARS_MAX - 1)}…` : text;

/** One line per incident in a digest (a storm): short, but every incident keeps its link. */
export function digestLine(notice: Notice, language: AlertLanguage, base: string, markup: Markup): string {
  const words = WORDS[language];
  const label = `${words.severity[notice.severity]}·${words.event[notice.event]}`;
  return `- ${SEVERITY_ICON[notice.severity]} ${markup.link(incidentUrl(base, notice.key), label)} ${shorten(notice.summary)}`;
}

export function digestTitle(notices: readonly Notice[], language: AlertLanguage): string {
  return WORDS[language].digest(notices.length);
}

export function titleFor(notices: readonly Notice[], language: AlertLanguage): string {
  const [first] = notices;
  if (notices.length === 1 && first) return headline(first, language);
  return digestTitle(notices, language);
}
