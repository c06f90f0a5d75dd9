/** The console's refusal and error pages (not found, signed out, CSRF, too large, unavailable), in the page language. */
import { Page, type PageContext } from "../layout.tsx";
import { type Problem, SHELL_WORDS } from "../shell-words.ts";

export function NotFoundPage({ ctx }: { ctx: PageContext }) {
  const w = SHELL_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={w.notFoundTitle}>
      <div class="panel" id="not-found">
        <h1>{w.notFoundTitle}</h1>
        <p>{w.notFoundText}</p>
        <p>
          <a href="/admin">{w.backToOverview}</a>
        </p>
      </div>
    </Page>
  );
}

/** `signInAt`: where "sign in" leads (back to the page after signing in), shown for a signed-out refusal. */
export function ProblemPage({
  ctx,
  problem,
  signInAt,
}: {
  ctx: PageContext;
  problem: Problem;
  signInAt?: string;
}) {
  const w = SHELL_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={w.problemTitle}>
      <div class="panel" id="problem" data-problem={problem}>
        <h1>{w.problemTitle}</h1>
        <p>{w[problem]}</p>
        <p>{signInAt ? <a href={signInAt}>{w.signInAgain}</a> : <a href="/admin">{w.backToOverview}</a>}</p>
      </div>
    </Page>
  );
}
