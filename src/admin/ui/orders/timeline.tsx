/**
 * The order's timeline as rows an operator reads at a glance: when (operator's zone and how long ago), what
 * happened in words, where it came from, and one line of the facts that matter (amount, references,
 * reason, who); the full entry stays one click away as JSON, folded, so a long detail never widens the page.
 */
import { knownReviewReason } from "../../../incidents/text.ts";
import { formatAmount } from "../../money.ts";
import type { Row } from "../../store.ts";
import type { PageContext } from "../layout.tsx";
import { When } from "../time.tsx";
import { timelineKind } from "./timeline-words.ts";
import { ORDER_WORDS, type OrderWords } from "./words.ts";

/** One summary line at most this long (characters); the JSON has the rest. */
export const TIMELINE_SUMMARY_MAX = 160;

/** Detail fields worth a place in the summary, in this order. */
const SUMMARY_FIELDS = [
  "payment_ref",
  "refund_ref",
  "dispute_ref",
  "role",
  "credits",
  "reason",
  "actor",
  "outcome",
  "previous_status",
  "package_id",
] as const;

const scalar = (value: unknown): string | null =>
  typeof value === "string" && value !== ""
    ? value
    : typeof value === "number" && Number.isFinite(value)
      ? String(value)
      : null;

/** "19.99 USD · pi_123 · reason: customer wrote in", cut to TIMELINE_SUMMARY_MAX. */
export function timelineSummary(
  detail: Record<string, unknown>,
  orderCurrency: string,
  labels: Record<string, string>,
  zh = false,
): string {
  const parts: string[] = [];
  const amount = Number(detail.amount_minor);
  if (detail.amount_minor !== undefined && Number.isSafeInteger(amount))
    parts.push(formatAmount(amount, scalar(detail.currency) ?? orderCurrency));
  for (const name of SUMMARY_FIELDS) {
    const raw = scalar(detail[name]);
    if (raw === null) continue;
    const value = name === "reason" ? (knownReviewReason(raw, zh) ?? raw) : raw;
    parts.push(name.endsWith("_ref") ? value : `${labels[name] ?? name}: ${value}`);
  }
  const line = parts.join(" · ");
  return line.length > TIMELINE_SUMMARY_MAX ? `${line.slice(0, TIMELINE_SUMMARY_MAX - 1)}…` : line;
}

function sourceLabel(source: unknown, w: OrderWords): string {
  const key = `source_${typeof source === "string" && source ? source : "none"}` as keyof OrderWords;
  const label = w[key];
  return typeof label === "string" ? label : String(source);
}

export function Timeline({ ctx, order }: { ctx: PageContext; order: Row }) {
  const w = ORDER_WORDS[ctx.lang];
  const entries = (order.timeline ?? []) as Row[];
  if (entries.length === 0) return <p class="muted">{ctx.t.none}</p>;
  return (
    <table id="timeline" class="stack">
      <tr>
        <th>{w.time}</th>
        <th>{w.kind}</th>
        <th>{w.source}</th>
        <th>{w.summary}</th>
      </tr>
      {entries.map((entry) => {
        const detail = (entry.detail ?? {}) as Record<string, unknown>;
        return (
          <tr data-kind={String(entry.kind)}>
            <td data-label={w.time} class="nowrap">
              <When at={entry.at} settings={ctx} />
            </td>
            <td data-label={w.kind}>
              <strong>{timelineKind(String(entry.kind), ctx.lang)}</strong>
            </td>
            <td data-label={w.source}>{sourceLabel(entry.source, w)}</td>
            <td data-label={w.summary}>
              {timelineSummary(detail, String(order.currency), w.field, ctx.lang === "zh")}
              <details>
                <summary>{w.rawJson}</summary>
                <code>{JSON.stringify(entry)}</code>
              </details>
            </td>
          </tr>
        );
      })}
    </table>
  );
}
