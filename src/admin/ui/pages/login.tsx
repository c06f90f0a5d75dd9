/** Sign-in with a token (the confirmation step of money actions is src/admin/ui/confirm-first.tsx). */
import { Page, type PageContext } from "../layout.tsx";
import { HOME_PATH, loginPathFor } from "../next-path.ts";

/** `next`: where to land after signing in (already checked by safeNext), carried through a failed try. */
export function LoginPage({ ctx, failed, next }: { ctx: PageContext; failed: boolean; next: string }) {
  const { t } = ctx;
  const here = loginPathFor(next);
  return (
    <Page ctx={ctx} title={t.login}>
      <form method="post" action="/admin/login" class="login">
        <h1>{t.title}</h1>
        {failed && <div class="flash bad">{t.loginFailed}</div>}
        <label for="token">{t.token}</label>
        <input id="token" name="token" type="password" autocomplete="off" required maxlength={512} />
        {next !== HOME_PATH && <input type="hidden" name="next" value={next} />}
        <button type="submit">{t.login}</button>
        <p class="muted">
          <a href={`/admin/lang/en?back=${encodeURIComponent(here)}`}>English</a> ·{" "}
          <a href={`/admin/lang/zh?back=${encodeURIComponent(here)}`}>中文</a>
        </p>
      </form>
    </Page>
  );
}
