/**
 * The confirmation step in front of every dashboard action that moves money, credits or sales: the first
 * POST renders a page that says in one line what will happen ("Refund 49.50 of 99.00 USD · −600 of 1,200
 * credits · balance 16,850 → 16,250") and repeats the form's fields with `confirm=1`; only that second
 * POST (CSRF-checked like the first) runs the action. A request that cannot be done renders a refusal
 * page in plain words instead: nothing was changed, and no query text reaches the page.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type DashboardEnv, pageContext } from "./context.ts";
import { ActionForm, Page } from "./layout.tsx";
import { MONEY_WORDS } from "./orders/money-words.ts";

/** The confirmation's own submission: `1` (older pages sent `yes`). */
const CONFIRMED = new Set(["1", "yes"]);

export async function isConfirmed(c: Context<DashboardEnv>): Promise<boolean> {
  const body = await c.req.parseBody();
  return typeof body.confirm === "string" && CONFIRMED.has(body.confirm);
}

/**
 * The confirmation page, unless this submission is the confirmation (then null: go ahead). `summary` is
 * the line that says what will happen; `details` are label / value rows under it.
 */
export async function confirmFirst(
  c: Context<DashboardEnv>,
  back: string,
  summary: string,
  fields: Record<string, string>,
  details: Array<[string, string]> = [],
): Promise<Response | null> {
  if (await isConfirmed(c)) return null;
  const ctx = await pageContext(c);
  const { t } = ctx;
  return c.html(
    <Page ctx={ctx} title={t.confirmTitle}>
      <h1>{t.confirmTitle}</h1>
      <p class="confirm-line" id="confirm-line">
        <strong>{summary}</strong>
      </p>
      <p class="muted">{t.confirmText}</p>
      {details.length > 0 && (
        <table id="confirm-summary" class="pairs">
          {details.map(([label, value]) => (
            <tr>
              <th>{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </table>
      )}
      <div class="actions confirm-actions">
        <ActionForm ctx={ctx} action={c.req.path} id="confirm-form">
          {Object.entries(fields).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <input type="hidden" name="confirm" value="1" />
          <button type="submit" class="danger" id="confirm">
            {t.confirm}
          </button>
          <a href={back}>{t.cancel}</a>
        </ActionForm>
      </div>
    </Page>,
  );
}

/** What could not be done, in a sentence; nothing was changed. 4xx, rendered (never a redirect with text). */
export async function refusedPage(
  c: Context<DashboardEnv>,
  back: string,
  message: string,
  status: ContentfulStatusCode = 409,
): Promise<Response> {
  const ctx = await pageContext(c);
  const w = MONEY_WORDS[ctx.lang];
  return c.html(
    <Page ctx={ctx} title={w.problemTitle}>
      <h1>{w.problemTitle}</h1>
      <div class="flash bad" id="refused">
        {message}
      </div>
      <p>{w.nothingChanged}</p>
      <p>
        <a href={back}>{w.back}</a>
      </p>
    </Page>,
    status,
  );
}
