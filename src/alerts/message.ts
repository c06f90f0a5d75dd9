/**
 * Pure text for alert messages: what happened, who and how much is affected, what to do, and where to look,
 * in English or Chinese. Titles and runbooks come from the incident catalogue (src/incidents/catalogue.ts),
 * so a message never mixes languages. Every piece of text that may come from a provider or a payer (titles,
 * summaries, detail values) goes through the channel's `escape` before it is wrapped in markup. Channel
 * payloads (src/alerts/channels/*) only wrap these lines.
 */
import { incidentKind, incidentTitle } from "../incidents/catalogue.ts";
import type { Notice, Severity } from "./notice.ts";
import type { AlertLanguage } from "./settings.ts";

/** Markup differences between channels: Slack mrkdwn, DingTalk / WeCom markdown, email text or HTML. */
export interface Markup {
  bold(text: string): string;
  link(url: string, label: string): string;
  /** Makes text that is not ours (titles, summaries, keys) inert in this markup. */
  escape(text: string): string;
  /** Our own fixed text (runbook steps, durations): only what the markup would misread is escaped. */
  literal(text: string): string;
}

/** Markdown-significant characters, each escaped with a backslash (DingTalk and WeCom markdown). */
const MARKDOWN_SIGNIFICANT = /[\\`*_[\]()#>!~|<{}]/g;

export const MARKDOWN: Markup = {
  bold: (text) => `**${text}**`,
  link: (url, label) => `[${label}](${url})`,
  escape: (text) => text.replace(MARKDOWN_SIGNIFICANT, (char) => `\\${char}`),
  literal: (text) => text,
};

/** Plain text (the email's text part): links written out, nothing to escape. */
export const PLAIN_TEXT: Markup = {
  bold: (text) => text,
  link: (url, label) => `${label}: ${url}`,
  escape: (text) => text,
  literal: (text) => text,
};

const DIGEST_SUMMARY_CHARS_MAX = 80;
const ZERO_DECIMAL_CURRENCIES = new Set(["JPY", "KRW", "VND", "CLP"]);

export const WORDS = {
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
    openList: "Open incidents",
    lasted: (duration: string, fires: number) => `Lasted ${duration}, fired ${fires} time(s).`,
    openFor: (duration: string, fires: number) => `Open for ${duration}, fired ${fires} time(s).`,
    digest: (count: number) => `payguard: ${count} incident update(s)`,
  },
  zh: {
    severity: { info: "提示", warning: "警告", critical: "严重" },
    event: { opened: "新告警", worsened: "升级", reminder: "仍未处理", resolved: "已恢复" },
    impact: "影响",
    orders: "订单",
    users: "用户",
    amount: "金额",
    unknown: "暂不明确",
    todo: "处理",
    open: "在控制台查看",
    openList: "查看全部告警",
    lasted: (duration: string, fires: number) => `持续 ${duration}，共触发 ${fires} 次。`,
    openFor: (duration: string, fires: number) => `已持续 ${duration}，共触发 ${fires} 次。`,
    digest: (count: number) => `payguard：${count} 条告警更新`,
  },
} as const;

export const SEVERITY_ICON: Record<Severity, string> = { info: "🔵", warning: "🟠", critical: "🔴" };

/** The incident's page; `( ) ' ! *` are encoded too, so the URL is safe inside every channel's link syntax. */
export function incidentUrl(publicBaseUrl: string, key: string): string {
  const encoded = encodeURIComponent(key).replace(
    /[()'!*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${publicBaseUrl}/admin/incidents/${encoded}`;
}

export const incidentsUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/admin/incidents`;

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

/** The incident's title in the channel's language (the catalogue's template, else the stored summary). */
export const noticeTitle = (notice: Notice, language: AlertLanguage): string =>
  incidentTitle(notice.kind, notice.detail, notice.summary, language);

/** `inert` is applied to the title (the part that may come from a provider); plain text by default. */
export function headline(notice: Notice, language: AlertLanguage, inert = (text: string) => text): string {
  const words = WORDS[language];
  return `${SEVERITY_ICON[notice.severity]} [${words.severity[notice.severity]}] ${words.event[notice.event]}: ${inert(noticeTitle(notice, language))}`;
}

export function historyLine(notice: Notice, language: AlertLanguage): string {
  const duration = formatDuration(notice.atMs - notice.openedAtMs, language);
  const words = WORDS[language];
  return notice.event === "resolved"
    ? words.lasted(duration, notice.fires)
    : words.openFor(duration, notice.fires);
}

/** The kind's runbook steps in `language`; none once the incident is resolved. */
export function runbookSteps(notice: Notice, language: AlertLanguage): readonly string[] {
  return notice.event === "resolved" ? [] : incidentKind(notice.kind).runbook[language];
}

/** One incident, in full. */
export function noticeLines(notice: Notice, language: AlertLanguage, base: string, markup: Markup): string[] {
  const words = WORDS[language];
  const lines = [
    markup.bold(headline(notice, language, markup.escape)),
    `- ${markup.escape(impactLine(notice.detail, language))}`,
  ];
  const steps = runbookSteps(notice, language);
  if (steps.length === 1) lines.push(`- ${words.todo}: ${markup.literal(steps[0] ?? "")}`);
  else if (steps.length > 1) {
    lines.push(`- ${words.todo}:`);
    steps.forEach((step, index) => {
      lines.push(`  ${index + 1}. ${markup.literal(step)}`);
    });
  }
  lines.push(`- ${markup.literal(historyLine(notice, language))}`);
  lines.push(`- ${markup.link(incidentUrl(base, notice.key), words.open)} (${markup.escape(notice.key)})`);
  return lines;
}

const shorten = (text: string): string =>
  text.length > DIGEST_SUMMARY_CHARS_MAX ? `${text.slice(0, DIGEST_SUMMARY_CHARS_MAX - 1)}…` : text;

/** One line per incident in a digest (a storm): short, but every incident keeps its link. */
export function digestLine(notice: Notice, language: AlertLanguage, base: string, markup: Markup): string {
  const words = WORDS[language];
  const label = `${words.severity[notice.severity]}·${words.event[notice.event]}`;
  const title = markup.escape(shorten(noticeTitle(notice, language)));
  return `- ${SEVERITY_ICON[notice.severity]} ${markup.link(incidentUrl(base, notice.key), label)} ${title}`;
}

export function digestTitle(notices: readonly Notice[], language: AlertLanguage): string {
  return WORDS[language].digest(notices.length);
}

/** Unescaped, for a channel's title or notification fallback. */
export function titleFor(notices: readonly Notice[], language: AlertLanguage): string {
  const [first] = notices;
  if (notices.length === 1 && first) return headline(first, language);
  return digestTitle(notices, language);
}
