/** The page frame: header with navigation and language switch, a flash line, and the shared styles. */
import type { Child } from "hono/jsx";
import type { Lang, Words } from "./i18n.ts";
import { RUNBOOK_WORDS } from "./runbook-words.ts";

export interface PageContext {
  t: Words;
  lang: Lang;
  actor: string | null;
  csrf: string;
  /** Path of the current page, for the language switch to come back to. */
  path: string;
  flash: { ok: boolean; text: string } | null;
  /** Scopes whose sales are paused (`*` = all), shown as a banner on every page. */
  salesPaused?: string[];
  /** The operator's time zone (cookie, default REPORT_TIME_ZONE) and the request's "now": see time.tsx. */
  timeZone: string;
  nowMs: number;
}

const STYLE = `
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;color:#1d2433;background:#f5f6f8}
header{display:flex;gap:20px;align-items:center;padding:10px 24px;background:#1d2433;color:#fff}
header a{color:#cfd6e4;text-decoration:none}header a.on{color:#fff;font-weight:600}header .grow{flex:1}
header form{margin:0}header button{background:none;border:1px solid #56607a;color:#cfd6e4;padding:3px 10px}
main{max-width:1180px;margin:0 auto;padding:20px 24px}h1{font-size:20px;margin:0 0 14px}h2{font-size:15px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#fafbfc;font-weight:600;color:#4a5468}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;overflow-wrap:anywhere}
td.when{white-space:nowrap;width:1%}
.cards{margin-bottom:14px;display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:14px}.card{background:#fff;border:1px solid #dde1e8;padding:12px 14px}
.card h2{margin-top:0}.big{font-size:26px;font-weight:600}
form.inline{display:inline-flex;gap:6px;align-items:center;margin:0 8px 8px 0}
input,select,button{font:inherit;padding:5px 8px;border:1px solid #c3c9d5;border-radius:3px;background:#fff}
button{background:#2856c7;color:#fff;border-color:#2856c7;cursor:pointer}button.danger{background:#b3261e;border-color:#b3261e}button.quiet{background:#fff;color:#2856c7}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:12px}.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5468}
.flash{padding:8px 12px;margin-bottom:14px;border:1px solid}.flash.ok{background:#e8f5ec;border-color:#9ccfad}.flash.bad{background:#fbeaea;border-color:#e0a3a0}
.status{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;background:#e7eaf0}
.status.fulfilled,.status.ok,.status.resolved{background:#dcefe2;color:#1c6b37}.status.pending{background:#fff3d6;color:#7a5a00}
.status.needs_review,.status.critical,.status.error,.status.open{background:#fbe0de;color:#a1261e}.status.partially_refunded,.status.refunded{background:#e3e8fb;color:#2a3f96}
.muted{color:#6b7486}.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid #dde1e8;padding:24px}
.login input{width:100%;margin:6px 0 12px}.actions{background:#fff;border:1px solid #dde1e8;padding:12px 14px}
.actions form.inline{display:flex;margin:0 0 8px}.actions form.inline:last-child{margin-bottom:0}.actions input[name=reason]{width:320px}
svg text{font-size:10px;fill:#6b7486}#replay-form,#repair-form{flex-wrap:wrap}`;

function Nav({ ctx }: { ctx: PageContext }) {
  const { t } = ctx;
  const links: Array<[string, string]> = [
    ["/admin", t.overview],
    ["/admin/orders", t.orders],
    ["/admin/incidents", t.incidents],
    ["/admin/jobs", t.jobs],
    ["/admin/report", t.report],
    ["/admin/runbook", RUNBOOK_WORDS[ctx.lang].runbook],
  ];
  const other = ctx.lang === "en" ? "zh" : "en";
  return (
    <header>
      <strong>{t.title}</strong>
      {links.map(([href, label]) => (
        <a
          href={href}
          class={ctx.path === href || (href !== "/admin" && ctx.path.startsWith(href)) ? "on" : ""}
        >
          {label}
        </a>
      ))}
      <span class="grow" />
      <a href={`/admin/lang/${other}?back=${encodeURIComponent(ctx.path)}`} id="lang-switch">
        {other === "zh" ? "中文" : "English"}
      </a>
      {ctx.actor && (
        <form method="post" action="/admin/logout">
          <input type="hidden" name="csrf" value={ctx.csrf} />
          <span class="muted">{ctx.actor} </span>
          <button type="submit">{t.logout}</button>
        </form>
      )}
    </header>
  );
}

function SalesBanner({ ctx, scopes }: { ctx: PageContext; scopes: string[] }) {
  const w = RUNBOOK_WORDS[ctx.lang];
  return (
    <div class="flash bad" id="sales-banner">
      {`${w.salesPausedBanner} ${scopes.map((s) => (s === "*" ? w.allPackages : s)).join(", ")} · `}
      <a href="/admin/runbook">{w.runbook}</a>
    </div>
  );
}

export function Page({ ctx, title, children }: { ctx: PageContext; title: string; children: Child }) {
  return (
    <html lang={ctx.lang === "zh" ? "zh-CN" : "en"}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · ${ctx.t.title}`}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        {ctx.actor ? <Nav ctx={ctx} /> : null}
        <main>
          {ctx.salesPaused && ctx.salesPaused.length > 0 && (
            <SalesBanner ctx={ctx} scopes={ctx.salesPaused} />
          )}
          {ctx.flash && <div class={`flash ${ctx.flash.ok ? "ok" : "bad"}`}>{ctx.flash.text}</div>}
          {children}
        </main>
      </body>
    </html>
  );
}

/** A POST form carrying the CSRF token; every form on the dashboard is one of these. */
export function ActionForm(props: { ctx: PageContext; action: string; children: Child; id?: string }) {
  return (
    <form method="post" action={props.action} class="inline" id={props.id}>
      <input type="hidden" name="csrf" value={props.ctx.csrf} />
      {props.children}
    </form>
  );
}

export const ReasonInput = ({ ctx }: { ctx: PageContext }) => (
  <input name="reason" required minlength={3} maxlength={500} placeholder={ctx.t.reason} />
);

export const StatusBadge = ({ value }: { value: unknown }) => (
  <span class={`status ${String(value)}`}>{String(value)}</span>
);

export const fmtTime = (value: unknown) =>
  typeof value === "string" ? value.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "";

export const fmtMoney = (minor: unknown, currency: unknown) =>
  `${(Number(minor) / 100).toFixed(2)} ${String(currency)}`;
