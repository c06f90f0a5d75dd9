/** Sign-in with a token, and the confirmation step in front of every money-moving action. */
import { ActionForm, Page, type PageContext } from "../layout.tsx";

export function LoginPage({ ctx, failed }: { ctx: PageContext; failed: boolean }) {
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t.login}>
      <form method="post" action="/admin/login" class="login">
        <h1>{t.title}</h1>
        {failed && <div class="flash bad">{t.loginFailed}</div>}
        <label for="token">{t.token}</label>
        <input id="token" name="token" type="password" autocomplete="off" required />
        <button type="submit">{t.login}</button>
        <p class="muted">
          <a href="/admin/lang/en?back=/admin/login">English</a> ·{" "}
          <a href="/admin/lang/zh?back=/admin/login">中文</a>
        </p>
      </form>
    </Page>
  );
}

/** Repeats the submitted fields with `confirm=yes`; nothing has happened yet. */
export function ConfirmPage(props: {
  ctx: PageContext;
  action: string;
  back: string;
  summary: string;
  fields: Record<string, string>;
}) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t.confirmTitle}>
      <h1>{t.confirmTitle}</h1>
      <p>{t.confirmText}</p>
      <table id="confirm-summary">
        <tr>
          <th>{t.action}</th>
          <td>{props.summary}</td>
        </tr>
        {Object.entries(props.fields).map(([name, value]) => (
          <tr>
            <th>{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </table>
      <p>
        <ActionForm ctx={ctx} action={props.action} id="confirm-form">
          {Object.entries(props.fields).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <input type="hidden" name="confirm" value="yes" />
          <button type="submit" class="danger" id="confirm">
            {t.confirm}
          </button>
        </ActionForm>
        <a href={props.back}>{t.cancel}</a>
      </p>
    </Page>
  );
}
