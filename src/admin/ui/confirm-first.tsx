/**
 * The confirmation step in front of every dashboard action that moves money or sales: the first
 * submission renders a page repeating the form's fields with `confirm=yes`; only that second submission
 * runs the action.
 */
import type { Context } from "hono";
import { type DashboardEnv, pageContext } from "./context.ts";
import { ConfirmPage } from "./pages/login.tsx";

/** The confirmation page, unless this submission is the confirmation (then null: go ahead). */
export async function confirmFirst(
  c: Context<DashboardEnv>,
  back: string,
  summary: string,
  fields: Record<string, string>,
): Promise<Response | null> {
  const body = await c.req.parseBody();
  if (body.confirm === "yes") return null;
  return c.html(
    <ConfirmPage
      ctx={await pageContext(c)}
      action={c.req.path}
      back={back}
      summary={summary}
      fields={fields}
    />,
  );
}
