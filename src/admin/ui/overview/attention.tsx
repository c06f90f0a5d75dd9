/**
 * The "needs attention" band at the top of the overview: what a person must look at now, worst first
 * (critical before warning), each item a link to the list that shows it. Figures come from
 * `payguard.admin_attention` (docs/schema.md, "Needs attention"); items with nothing in them are left
 * out, and an empty band says so in one calm line.
 */
import { formatAmount } from "../../money.ts";
import type { PageContext } from "../layout.tsx";
import { formatRelative } from "../time.tsx";
import { fill, OVERVIEW_WORDS, type OverviewWords } from "./words.ts";

/** The list behind "paid, not credited" (src/admin/ui/overview/routes.tsx). */
export const NOT_CREDITED_PATH = "/admin/attention/not-credited";

export type AttentionKey =
  | "critical_incidents"
  | "paid_not_credited"
  | "app_hook_failed"
  | "in_review"
  | "inbox"
  | "check_failed";

export interface AttentionFigure {
  count: number;
  oldest_at?: string | null;
  amounts?: Array<{ currency: string; count: number; amount_minor: number }>;
  failed?: number;
  stuck?: number;
  last_error?: string | null;
}

export type Attention = Partial<Record<AttentionKey, AttentionFigure>>;

type Severity = "critical" | "warning";

interface ItemSpec {
  key: AttentionKey;
  severity: Severity;
  href: string;
  title: keyof OverviewWords;
  help?: keyof OverviewWords;
}

/** Worst first: money at risk and criticals, then what waits for a person without losing money yet. */
const ITEMS: readonly ItemSpec[] = [
  {
    key: "critical_incidents",
    severity: "critical",
    href: "/admin/incidents?severity=critical",
    title: "critical",
  },
  {
    key: "paid_not_credited",
    severity: "critical",
    href: NOT_CREDITED_PATH,
    title: "paidNotCredited",
    help: "paidNotCreditedHelp",
  },
  {
    key: "app_hook_failed",
    severity: "critical",
    href: "/admin/incidents?kind=app_hook_failed",
    title: "appHookFailed",
    help: "appHookFailedHelp",
  },
  { key: "in_review", severity: "warning", href: "/admin/orders?status=needs_review", title: "inReview" },
  { key: "inbox", severity: "warning", href: "/admin/runbook#replay-form", title: "inbox" },
  {
    key: "check_failed",
    severity: "warning",
    href: "/admin/orders?status=pending&check=failed",
    title: "checkFailed",
  },
];

export interface AttentionItem {
  key: AttentionKey;
  severity: Severity;
  href: string;
  count: number;
  title: string;
  details: string[];
  /** The provider's own error text, shown as the data it is. */
  error?: string;
}

function detailsOf(spec: ItemSpec, figure: AttentionFigure, w: OverviewWords, ctx: PageContext): string[] {
  const lines: string[] = [];
  if (figure.amounts && figure.amounts.length > 0)
    lines.push(figure.amounts.map((a) => formatAmount(Number(a.amount_minor), a.currency)).join(" · "));
  if (spec.key === "inbox")
    lines.push(fill(w.inboxDetail, { failed: figure.failed ?? 0, stuck: figure.stuck ?? 0 }));
  if (spec.help) lines.push(w[spec.help]);
  if (figure.oldest_at) lines.push(fill(w.oldest, { age: formatRelative(figure.oldest_at, ctx) }));
  return lines;
}

/** Pure: the band's items in order, only those with something in them. */
export function attentionItems(attention: Attention, ctx: PageContext): AttentionItem[] {
  const w = OVERVIEW_WORDS[ctx.lang];
  return ITEMS.flatMap((spec) => {
    const figure = attention[spec.key];
    const count = Number(figure?.count ?? 0);
    if (!figure || count <= 0) return [];
    const { key, severity, href } = spec;
    const details = detailsOf(spec, figure, w, ctx);
    const error = spec.key === "check_failed" && figure.last_error ? figure.last_error : undefined;
    return [{ key, severity, href, count, title: w[spec.title], details, error }];
  });
}

export function AttentionBand({ ctx, attention }: { ctx: PageContext; attention: Attention }) {
  const w = OVERVIEW_WORDS[ctx.lang];
  const items = attentionItems(attention, ctx);
  if (items.length === 0)
    return (
      <section class="calm" id="attention">
        <strong id="attention-calm">{w.calmTitle}</strong>
        <span class="d">{w.calmText}</span>
      </section>
    );
  return (
    <section id="attention" aria-label={w.attentionTitle}>
      <h2>{w.attentionTitle}</h2>
      <div class="attention">
        {items.map((item) => (
          <a
            class={`attn ${item.severity}`}
            href={item.href}
            id={`attention-${item.key}`}
            data-count={item.count}
          >
            <span class="n">{item.count}</span> <strong>{item.title}</strong>
            {item.error && (
              <span class="d">
                {w.lastError} <code>{item.error}</code>
              </span>
            )}
            {item.details.map((line) => (
              <span class="d">{line}</span>
            ))}
          </a>
        ))}
      </div>
    </section>
  );
}
