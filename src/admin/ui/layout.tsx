/**
 * The page frame: header with navigation, time zone and language switch (on a phone the navigation wraps
 * into rows of its own, no script), the sales banner, a flash line, and the shared styles.
 */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { Lang, Words } from "./i18n.ts";
import { RUNBOOK_WORDS } from "./runbook-words.ts";
import { SHELL_WORDS } from "./shell-words.ts";

export interface PageContext {
  t: Words;
  lang: Lang;
  actor: string | null;
  csrf: string;
  /** Path of the current page as the browser sent it (escapes kept), for the language switch to come back to. */
  path: string;
  flash: { ok: boolean; text: string } | null;
  /** Scopes whose sales are paused (`*` = all), shown as a banner on every page. */
  salesPaused?: string[];
  /** The operator's time zone (cookie, default REPORT_TIME_ZONE) and the request's "now": see time.tsx. */
  timeZone: string;
  nowMs: number;
}

/**
 * Shared styles. The page CSP allows exactly this stylesheet (by its hash, `styleHash`), so pages carry
 * no `style` attributes and no `<style>` of their own: add classes here.
 *
 * Utilities for pages:
 * - `table.stack`: under 640 px each row becomes a card, each cell a line led by its `data-label`
 *   (`<td data-label={t.amount}>`); the header row (a `<thead>`, or a row of `<th>` only) is hidden.
 *   Other tables scroll sideways inside themselves on a phone, never the page.
 * - `table.kv`: a label / value table whose label goes above its value under 640 px.
 * - `.nowrap`: ids, amounts and dates that must not break across lines.
 */
const STYLE = `
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;color:#1d2433;background:#f5f6f8}
header{display:flex;flex-wrap:wrap;gap:6px 20px;align-items:center;padding:10px 24px;background:#1d2433;color:#fff}
header a{color:#cfd6e4;text-decoration:none}header a.on{color:#fff;font-weight:600}header .brand{color:#fff;font-weight:600}
header nav{display:flex;flex-wrap:wrap;gap:4px 18px}header .tools{margin-left:auto;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}
header form{margin:0}header button{background:none;border:1px solid #56607a;color:#cfd6e4;padding:3px 10px}
main{max-width:1180px;margin:0 auto;padding:20px 24px}h1{font-size:20px;margin:0 0 14px;overflow-wrap:anywhere}h2{font-size:15px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#fafbfc;font-weight:600;color:#4a5468}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;overflow-wrap:anywhere}
pre{overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}.scroll-x{overflow-x:auto;max-width:100%}
td.when{white-space:nowrap;width:1%}.nowrap,.nowrap code{white-space:nowrap;overflow-wrap:normal}
.cards{margin-bottom:14px;display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:14px}.card{background:#fff;border:1px solid #dde1e8;padding:12px 14px}
.card h2{margin-top:0}.big{font-size:26px;font-weight:600}
form.inline{display:inline-flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 8px 8px 0}
input,select,button,textarea{font:inherit;padding:5px 8px;border:1px solid #c3c9d5;border-radius:3px;background:#fff;max-width:100%}
button{background:#2856c7;color:#fff;border-color:#2856c7;cursor:pointer}button.danger{background:#b3261e;border-color:#b3261e}button.quiet{background:#fff;color:#2856c7}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:12px}.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5468}
.flash{padding:8px 12px;margin-bottom:14px;border:1px solid;overflow-wrap:anywhere}.flash.ok{background:#e8f5ec;border-color:#9ccfad}.flash.bad{background:#fbeaea;border-color:#e0a3a0}
.status{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;background:#e7eaf0;white-space:nowrap}
.status.fulfilled,.status.ok,.status.resolved{background:#dcefe2;color:#1c6b37}.status.pending{background:#fff3d6;color:#7a5a00}
.status.needs_review,.status.critical,.status.error,.status.open{background:#fbe0de;color:#a1261e}.status.partially_refunded,.status.refunded{background:#e3e8fb;color:#2a3f96}
.status.info{background:#e1ecfb;color:#1f4f8f}tr.group td{background:#eef1f6;font-weight:600}.next{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin-bottom:10px}
.muted{color:#6b7486}.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid #dde1e8;padding:24px}
.login input{width:100%;margin:6px 0 12px}.actions{background:#fff;border:1px solid #dde1e8;padding:12px 14px}
.actions form.inline{display:flex;margin:0 0 8px}.actions form.inline:last-child{margin-bottom:0}.actions input[name=reason]{width:320px}
.panel{background:#fff;border:1px solid #dde1e8;padding:16px 18px;max-width:640px}.panel label{display:block;margin-bottom:4px;font-weight:600}
svg{max-width:100%;height:auto}svg text{font-size:10px;fill:#6b7486}#replay-form,#repair-form{flex-wrap:wrap}
.review{background:#fff;border:1px solid #e0a3a0;border-left:4px solid #b3261e;padding:12px 14px;margin-bottom:14px}.review h2{margin-top:0}.review .reason{font-size:16px;font-weight:600;margin:0 0 6px}.review form.inline{display:flex}
fieldset.choices{border:0;padding:0;margin:0 0 6px;flex-basis:100%;display:flex;flex-direction:column;gap:6px}fieldset.choices legend{font-weight:600;padding:0}.extra-payment+.extra-payment{border-top:1px solid #eceff3;padding-top:8px}
label.field{display:flex;flex-direction:column;gap:2px;font-size:12px;color:#4a5468}.amount{display:inline-flex;gap:6px;align-items:center;font-size:14px;color:#1d2433}.amount input{width:9em;text-align:right;font-variant-numeric:tabular-nums}
.money form.inline{align-items:flex-end}.refund-block{margin:4px 0 12px}.refund-block h3{margin:0 0 6px;font-size:14px}form .help{flex-basis:100%;margin:0;font-size:12px}.confirm-line{font-size:17px}.confirm-actions form.inline{align-items:center;gap:14px}
.attention{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:10px;margin-bottom:16px}
a.attn{display:block;padding:10px 12px;border:1px solid;border-left-width:5px;color:inherit;text-decoration:none;background:#fff}
a.attn.critical{border-color:#e0a3a0;border-left-color:#b3261e;background:#fdf1f0}a.attn.warning{border-color:#ecd28f;border-left-color:#d08a00;background:#fffaf0}
a.attn .n{font-size:24px;font-weight:600}a.attn.critical .n{color:#a1261e}a.attn.warning .n{color:#7a5a00}
.attn .d,.calm .d{display:block;font-size:12px;color:#4a5468;overflow-wrap:anywhere}.calm{display:block;padding:10px 12px;margin:0 0 16px;border:1px solid #9ccfad;border-left:5px solid #1c6b37;background:#e8f5ec}
.status.warning{background:#fff3d6;color:#7a5a00}a.status{text-decoration:none}.chips{display:flex;flex-wrap:wrap;gap:6px}a.big{display:block;color:inherit;text-decoration:none;margin-bottom:6px}
.chart{margin:0}.chart-grid{display:grid;grid-template-columns:auto minmax(0,1fr);gap:4px 6px}.chart-y{display:flex;flex-direction:column;justify-content:space-between;align-items:flex-end;font-size:11px;line-height:1;color:#6b7486}
svg.chart-plot{display:block;width:100%;height:120px;border-left:1px solid #c3c9d5;border-bottom:1px solid #c3c9d5}svg.bar{display:block;width:100%;min-width:80px;height:12px}
.chart-x{display:grid;grid-template-columns:repeat(3,1fr);font-size:11px;color:#6b7486}.chart-x span:nth-child(2){text-align:center}.chart-x span:last-child{text-align:right}
.chart-caption{display:flex;flex-wrap:wrap;gap:4px 12px;margin-top:6px;font-size:12px;color:#6b7486}
.subscription{background:#fff;border:1px solid #dde1e8;padding:12px 14px;margin-bottom:14px}.subscription h3{margin:0 0 8px;font-size:15px}.subscription h4{margin:14px 0 6px;font-size:14px}
@media (max-width:640px){
header{padding:8px 12px;gap:6px 12px}header nav{order:3;width:100%;gap:4px 14px}header .who{display:none}
main{padding:12px}.login{margin:24px auto;padding:18px}.actions input[name=reason]{width:100%}
table:not(.stack){display:block;overflow-x:auto}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack thead,table.stack tr:not(:has(>td)){display:none}
table.stack tr{border-bottom:1px solid #dde1e8;padding:6px 0}table.stack td{border:0;padding:2px 10px;text-align:left}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:12px;color:#6b7486}
.money form.inline,.runbook form.inline,.confirm-actions form.inline{flex-direction:column;align-items:stretch}
:is(.money,.runbook,.confirm-actions) form.inline :is(input:not([type=radio]),select,textarea,button),.amount,.amount input{width:100%}
table.kv,table.kv tbody,table.kv tr,table.kv th,table.kv td{display:block;width:100%}table.kv th{border:0;padding:4px 10px 0;font-weight:400;font-size:12px;color:#6b7486;background:none}
}`;

let styleDigest: Promise<string> | null = null;

/** `'sha256-…'` of the stylesheet, for the page CSP's style-src (src/http/security-headers.ts). */
export function styleHash(): Promise<string> {
  styleDigest ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(STYLE))
    .then((digest) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`);
  return styleDigest;
}

function Nav({ ctx }: { ctx: PageContext }) {
  const { t } = ctx;
  const w = SHELL_WORDS[ctx.lang];
  const links: Array<[string, string]> = [
    ["/admin", t.overview],
    ["/admin/orders", t.orders],
    ["/admin/incidents", t.incidents],
    ["/admin/jobs", t.jobs],
    ["/admin/report", t.report],
    ["/admin/runbook", RUNBOOK_WORDS[ctx.lang].runbook],
  ];
  const other = ctx.lang === "en" ? "zh" : "en";
  const on = (href: string) =>
    ctx.path === href || (href !== "/admin" && ctx.path.startsWith(`${href}/`)) ? "on" : "";
  return (
    <header>
      <a href="/admin" class="brand">
        {t.title}
      </a>
      <nav>
        {links.map(([href, label]) => (
          <a href={href} class={on(href)}>
            {label}
          </a>
        ))}
      </nav>
      <div class="tools">
        <a href="/admin/settings" id="time-zone" class={on("/admin/settings")} title={w.timeZone}>
          {ctx.timeZone}
        </a>
        <a href={`/admin/lang/${other}?back=${encodeURIComponent(ctx.path)}`} id="lang-switch">
          {other === "zh" ? "中文" : "English"}
        </a>
        {ctx.actor && (
          <form method="post" action="/admin/logout">
            <input type="hidden" name="csrf" value={ctx.csrf} />
            <span class="muted who">{ctx.actor} </span>
            <button type="submit">{t.logout}</button>
          </form>
        )}
      </div>
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
        <style>{raw(STYLE)}</style>
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

export const fmtMoney = (minor: unknown, currency: unknown) =>
  `${(Number(minor) / 100).toFixed(2)} ${String(currency)}`;
